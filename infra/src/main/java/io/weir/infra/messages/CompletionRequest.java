package io.weir.infra.messages;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * A completion request as it travels on Kafka: from the gateway (or any external producer) to the
 * public request topic, from the completion-service to the topic of the model's workers.
 *
 * @param requestId   unique id; every reply event carries it (Kafka key of requests and replies)
 * @param model       model endpoint name
 * @param prompt      prompt text; the worker tokenizes it (the tokenizer belongs to the checkpoint)
 * @param sampling    generation parameters
 * @param replyTopic  topic the reply events go to; each gateway instance owns one
 * @param tenant      who asked (API key's tenant), for attribution
 * @param createdAtMs producer's wall clock, for queue-time metrics
 * @param addSpecialTokens whether the tokenizer adds its special tokens (BOS...) to the prompt; null means
 *                    true. A prompt rendered from a chat template that already wrote BOS sends false, as vLLM does.
 */
public record CompletionRequest(
        String requestId,
        String model,
        String prompt,
        SamplingParams sampling,
        String replyTopic,
        String tenant,
        long createdAtMs,
        Boolean addSpecialTokens) {

    /** A request whose prompt gets the tokenizer's special tokens (the usual case). */
    public CompletionRequest(String requestId, String model, String prompt, SamplingParams sampling, String replyTopic,
                             String tenant, long createdAtMs) {
        this(requestId, model, prompt, sampling, replyTopic, tenant, createdAtMs, null);
    }

    @JsonIgnore
    public boolean effectiveAddSpecialTokens() {
        return addSpecialTokens == null || addSpecialTokens;
    }

    /** The same request with other sampling parameters (the worker settles defaults that need the prompt). */
    public CompletionRequest withSampling(SamplingParams newSampling) {
        return new CompletionRequest(requestId, model, prompt, newSampling, replyTopic, tenant, createdAtMs, addSpecialTokens);
    }
}

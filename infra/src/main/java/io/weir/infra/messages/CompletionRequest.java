package io.weir.infra.messages;

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
 */
public record CompletionRequest(
        String requestId,
        String model,
        String prompt,
        SamplingParams sampling,
        String replyTopic,
        String tenant,
        long createdAtMs) {

    public CompletionRequest withSampling(SamplingParams newSampling) {
        return new CompletionRequest(requestId, model, prompt, newSampling, replyTopic, tenant, createdAtMs);
    }
}

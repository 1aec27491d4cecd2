package io.weir.gateway.routes.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.buffer.Buffer;
import io.weir.gateway.http.JsonFields;

import java.util.ArrayList;
import java.util.List;

/**
 * A POST /v2/completions body (OpenAI's CreateCompletionRequest with vLLM's extras).
 *
 * @param prompts one or more prompts; each gets n choices, numbered prompt by prompt
 * @param options the generation fields; {@code topLogprobs} is the {@code logprobs} field (0..5)
 */
record CompletionsRequest(String model, List<String> prompts, SamplingOptions options) {
    /** OpenAI's default max_tokens for completions. */
    static final int DEFAULT_MAX_TOKENS = 16;
    static final int MAX_LOGPROBS = 5;
    /** Prompts × n: each is one request to the workers. */
    static final int MAX_CHOICES = 512;

    static CompletionsRequest parse(Buffer body) {
        JsonFields f = JsonFields.parse(body);
        String model = f.requiredString("model");
        List<String> prompts = prompts(f);
        Integer logprobs = f.optionalInt("logprobs");
        if (logprobs != null && (logprobs < 0 || logprobs > MAX_LOGPROBS)) {
            throw OpenAiError.invalid("logprobs", "logprobs must be between 0 and " + MAX_LOGPROBS + ", got " + logprobs).exception();
        }
        if (Boolean.TRUE.equals(f.optionalBoolean("echo"))) {
            throw OpenAiError.notSupported("echo", "echo").exception();
        }
        if (f.has("suffix")) {
            throw OpenAiError.notSupported("suffix", "suffix").exception();
        }
        SamplingOptions options = SamplingOptions.read(f, f.optionalInt("max_tokens"), logprobs);
        if ((long) prompts.size() * options.n() > MAX_CHOICES) {
            throw OpenAiError.invalid("n", "prompts × n must be at most " + MAX_CHOICES + ", got " + prompts.size() * (long) options.n()).exception();
        }
        return new CompletionsRequest(model, prompts, options);
    }

    /** {@code prompt}: a string or a list of strings (token-id prompts are not supported yet). */
    private static List<String> prompts(JsonFields f) {
        JsonNode prompt = f.node("prompt");
        if (prompt == null) {
            throw OpenAiError.invalid("prompt", "prompt is required").exception();
        }
        if (prompt.isTextual()) {
            return List.of(prompt.textValue());
        }
        if (!prompt.isArray() || prompt.isEmpty()) {
            throw OpenAiError.invalid("prompt", "prompt must be a string or a non-empty list of strings").exception();
        }
        List<String> prompts = new ArrayList<>();
        for (JsonNode item : prompt) {
            if (!item.isTextual()) {
                throw (item.isNumber() || item.isArray()
                        ? OpenAiError.notSupported("prompt", "A prompt of token ids")
                        : OpenAiError.invalid("prompt", "prompt must be a string or a list of strings")).exception();
            }
            prompts.add(item.textValue());
        }
        return prompts;
    }
}

package io.weir.gateway.completions;

/**
 * A finished completion, gathered from its events.
 *
 * @param finishReason {@code stop}, {@code length} (or {@code cancelled} if someone else cancelled it)
 */
public record CompletionResult(String requestId, String model, String text, int promptTokens, int completionTokens,
                               String finishReason) {
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}

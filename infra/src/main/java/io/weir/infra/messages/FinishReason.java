package io.weir.infra.messages;

/** Why generation ended, with the wire names OpenAI and vLLM use. */
public enum FinishReason {
    /** An end-of-sequence token or a stop sequence. */
    STOP("stop"),
    /** max_new_tokens (or the context length) reached. */
    LENGTH("length"),
    /** The request was cancelled (see {@link CancelRequest}): its caller left, timed out, or lost a race. */
    CANCELLED("cancelled");

    private final String wireName;

    FinishReason(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }
}

package io.weir.worker.engine;

import io.weir.infra.messages.CompletionRequest;

/**
 * Tokenizes a request and checks it against the model before it may take a sequence slot. Failures are
 * user errors (HTTP 400) with vLLM's wording for context overflow, which clients already parse.
 */
public final class RequestPreparer {
    /** Most alternatives a token event may carry (vLLM's default max_logprobs, OpenAI chat's top_logprobs limit). */
    public static final int MAX_TOP_LOGPROBS = 20;

    private final LoadedModel model;

    public RequestPreparer(LoadedModel model) {
        this.model = model;
    }

    /** Thrown for a request that cannot run; its message is for the user. */
    public static final class RejectedRequestException extends Exception {
        private final int status;

        RejectedRequestException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    public PreparedRequest prepare(CompletionRequest request, Runnable onDone) throws RejectedRequestException {
        if (request.sampling() == null || request.prompt() == null) {
            throw new RejectedRequestException(400, "request needs a prompt and sampling parameters");
        }
        int maxNew = request.sampling().maxNewTokens();
        if (maxNew <= 0) {
            throw new RejectedRequestException(400, "max_new_tokens must be positive, got " + maxNew);
        }
        int topLogprobs = request.sampling().effectiveTopLogprobs();
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw new RejectedRequestException(400, "top_logprobs must be between 0 and " + MAX_TOP_LOGPROBS + ", got " + topLogprobs);
        }
        int[] ids = model.tokenizer().encode(request.prompt(), request.effectiveAddSpecialTokens());
        if (ids.length == 0) {
            throw new RejectedRequestException(400, request.effectiveAddSpecialTokens()
                    ? "the prompt is empty and this model adds no BOS token"
                    : "the prompt is empty (and add_special_tokens is false)");
        }
        int context = model.config().maxSeqLen();
        if (request.sampling().effectiveFitToContext() && ids.length < context && (long) ids.length + maxNew > context) {
            // The caller gave no budget of its own: generate up to the end of the context.
            maxNew = context - ids.length;
            request = request.withSampling(request.sampling().withMaxNewTokens(maxNew));
        }
        if ((long) ids.length + maxNew > context) {
            throw new RejectedRequestException(400, "This model's maximum context length is " + context
                    + " tokens. However, you requested " + (ids.length + (long) maxNew) + " tokens (" + ids.length
                    + " in the messages, " + maxNew + " in the completion). Please reduce the length of the messages or completion.");
        }
        return new PreparedRequest(request, ids, onDone);
    }
}

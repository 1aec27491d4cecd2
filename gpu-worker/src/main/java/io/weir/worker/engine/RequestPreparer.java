package io.weir.worker.engine;

import io.weir.infra.messages.CompletionRequest;

/**
 * Tokenizes a request and checks it against the model before it may take a sequence slot. Failures are
 * user errors (HTTP 400) with vLLM's wording for context overflow, which clients already parse.
 */
public final class RequestPreparer {
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
        int[] ids = model.tokenizer().encode(request.prompt(), true);
        if (ids.length == 0) {
            throw new RejectedRequestException(400, "the prompt is empty and this model adds no BOS token");
        }
        int context = model.config().maxSeqLen();
        if ((long) ids.length + maxNew > context) {
            throw new RejectedRequestException(400, "This model's maximum context length is " + context
                    + " tokens. However, you requested " + (ids.length + (long) maxNew) + " tokens (" + ids.length
                    + " in the messages, " + maxNew + " in the completion). Please reduce the length of the messages or completion.");
        }
        return new PreparedRequest(request, ids, onDone);
    }
}

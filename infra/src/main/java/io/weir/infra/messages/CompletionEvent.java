package io.weir.infra.messages;

import com.fasterxml.jackson.annotation.JsonIgnore;

import java.util.List;

/**
 * One reply event for a request, on the request's reply topic, keyed by request id. A request's
 * events carry consecutive {@code seq} numbers from 0, so a consumer can drop duplicates (a request
 * redelivered to another worker replays from the start) and notice gaps.
 *
 * <p>A {@link Kind#TOKEN} event is one generated token: {@code text} is the text it makes visible
 * (possibly empty while a multi-byte character is incomplete, or for a skipped special token).
 * The last event of a successful request has {@code finished = true} with the finish reason and the
 * final counts. An {@link Kind#ERROR} event ends the request with an HTTP-like status. A cancelled request
 * ({@link CancelRequest}) ends with a {@link #cancelled} event: no token, no text, its counts so far.
 */
public record CompletionEvent(
        String requestId,
        int seq,
        Kind kind,
        String text,
        Integer tokenId,
        String token,
        Double logProb,
        List<TopLogprob> topLogprobs,
        Integer numPromptTokens,
        Integer numCompletionTokens,
        boolean finished,
        String finishReason,
        ErrorInfo error) {

    public enum Kind { TOKEN, ERROR }

    /** The error of a failed request: an HTTP status (400 bad input, 404, 500 ...) and a message. */
    public record ErrorInfo(int status, String message) {
    }

    /** One alternative at a position: token id, its text piece, and its natural-log probability. */
    public record TopLogprob(int tokenId, String token, double logProb) {
    }

    public static CompletionEvent error(String requestId, int seq, int status, String message) {
        return new CompletionEvent(requestId, seq, Kind.ERROR, null, null, null, null, null, null, null,
                true, null, new ErrorInfo(status, message));
    }

    /** The last event of a cancelled request: it carries no token, only the counts reached. */
    public static CompletionEvent cancelled(String requestId, int seq, int numPromptTokens, int numCompletionTokens) {
        return new CompletionEvent(requestId, seq, Kind.TOKEN, "", null, null, null, null, numPromptTokens,
                numCompletionTokens, true, FinishReason.CANCELLED.wireName(), null);
    }

    @JsonIgnore
    public boolean isError() {
        return kind == Kind.ERROR;
    }
}

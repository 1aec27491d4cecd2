package io.weir.gateway.completions;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.weir.gateway.http.ApiException;
import io.weir.infra.messages.CompletionEvent;

import java.time.Duration;

/**
 * A call whose reply is gathered whole: {@link #result()} completes with the text and counts on the last
 * event, or fails with an {@link ApiException}: the endpoint lookup's (404...), the worker's error event
 * (400 for a prompt too long...), 504 at the deadline, 499 once cancelled. Used on the context that
 * started it.
 */
public final class CollectedCall implements CompletionCalls.Listener {
    /** The status a cancelled call's result fails with (nginx's "client closed request"). */
    public static final int CANCELLED = 499;

    private final String model;
    private final Promise<CompletionResult> result = Promise.promise();
    private final StringBuilder text = new StringBuilder();
    private Future<CompletionCalls.Call> call;

    CollectedCall(String model) {
        this.model = model;
    }

    void started(Future<CompletionCalls.Call> call) {
        this.call = call;
        call.onFailure(e -> result.tryFail(ApiException.of(e)));
    }

    public String model() {
        return model;
    }

    public Future<CompletionResult> result() {
        return result.future();
    }

    /** The request id once the request is on Kafka; null before, or if it never got there. */
    public String requestId() {
        return call.succeeded() ? call.result().requestId() : null;
    }

    /** Cancels the call, and its generation on the worker, unless it has ended (see {@link CompletionCalls.Call#cancel}). */
    public void cancel(String reason) {
        result.tryFail(ApiException.status(CANCELLED, "cancelled: " + reason));
        call.onSuccess(c -> c.cancel(reason));
    }

    @Override
    public void onEvent(CompletionEvent event) {
        if (event.isError()) {
            result.tryFail(ApiException.status(event.error().status(), event.error().message()));
            return;
        }
        text.append(event.text());
        if (event.finished()) {
            result.tryComplete(new CompletionResult(event.requestId(), model, text.toString(),
                    count(event.numPromptTokens()), count(event.numCompletionTokens()), event.finishReason()));
        }
    }

    @Override
    public void onTimeout(Duration timeout) {
        result.tryFail(ApiException.status(504, CompletionCalls.timedOut(timeout)));
    }

    private static int count(Integer n) {
        return n == null ? 0 : n;
    }
}

package io.weir.gateway.completions;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.HttpErrors;
import io.weir.gateway.http.SseWriter;
import io.weir.infra.messages.CompletionEvent;

import java.time.Duration;

/**
 * Relays a call's events as server-sent events, one per token, in the shapes of an API (subclasses). The
 * 200 and the stream start with the first event, so a request the worker refuses (context too long...)
 * still gets a plain HTTP error; a failure after that is a last error event, then the end.
 */
public abstract class SseRelay implements CompletionCalls.Listener {
    private final RoutingContext ctx;
    private final SseWriter sse;

    protected SseRelay(RoutingContext ctx) {
        this.ctx = ctx;
        this.sse = new SseWriter(ctx.request(), ctx.vertx());
    }

    /** The event for one token (the last one has {@code finished} set). */
    protected abstract JsonObject tokenEvent(CompletionEvent event);

    /** The last event of a stream that failed after it began; {@code requestId} is null at the deadline. */
    protected abstract JsonObject errorEvent(String requestId, int status, String message);

    @Override
    public final void onEvent(CompletionEvent event) {
        if (event.isError()) {
            fail(event.requestId(), event.error().status(), event.error().message());
            return;
        }
        if (!sse.isOpen()) {
            sse.open();
        }
        sse.event(tokenEvent(event).encode());
        if (event.finished()) {
            sse.end();
        }
    }

    @Override
    public final void onTimeout(Duration timeout) {
        fail(null, 504, CompletionCalls.timedOut(timeout));
    }

    private void fail(String requestId, int status, String message) {
        if (!sse.isOpen()) {
            HttpErrors.detail(ctx, status, message);
            return;
        }
        sse.event(errorEvent(requestId, status, message).encode());
        sse.end();
    }
}

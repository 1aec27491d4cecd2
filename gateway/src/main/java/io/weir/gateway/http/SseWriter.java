package io.weir.gateway.http;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Server-sent events as sse-starlette (LLM Engine's server) writes them: chunked, {@code data: <json>} events,
 * and a {@code : ping} comment every 15 s so proxies keep the connection open while a request waits.
 *
 * <p>Events written during one turn of the event loop leave in one write, at the end of that turn: when the reply
 * consumer hands over several tokens of this stream at once (a worker under load batches them), the caller gets
 * them in one chunk instead of paying a flush and a read per token; a lone token still leaves at once.
 */
public final class SseWriter {
    private static final long PING_MS = 15_000;
    private static final DateTimeFormatter PING_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private final HttpServerResponse response;
    private final boolean http1;
    private final Vertx vertx;
    private final Context context;
    private Buffer pending; // events of this event-loop turn, not written yet
    private long pingTimer = -1;

    /** Call on the request's context (in its handler). */
    public SseWriter(HttpServerRequest request, Vertx vertx) {
        this.response = request.response();
        this.http1 = request.version() != HttpVersion.HTTP_2;
        this.vertx = vertx;
        this.context = vertx.getOrCreateContext();
    }

    /** Sends the 200 headers; events follow. */
    public void open() {
        response.setStatusCode(200)
                .setChunked(true)
                .putHeader("content-type", "text/event-stream; charset=utf-8")
                .putHeader("cache-control", "no-cache")
                .putHeader("x-accel-buffering", "no");
        if (http1) {
            response.putHeader("connection", "keep-alive"); // a connection-level header: illegal in HTTP/2
        }
        response.writeHead();
        pingTimer = vertx.setPeriodic(PING_MS, id -> append(": ping - " + ZonedDateTime.now(ZoneOffset.UTC).format(PING_TIME)));
    }

    public boolean isOpen() {
        return response.headWritten();
    }

    public void event(String json) {
        append("data: " + json);
    }

    private void append(String message) {
        if (response.ended() || response.closed()) {
            return;
        }
        if (pending == null) {
            pending = Buffer.buffer();
            context.runOnContext(v -> flush()); // runs after the tasks already queued: the rest of this turn
        }
        pending.appendString(message).appendString("\r\n\r\n");
    }

    private void flush() {
        Buffer out = pending;
        pending = null;
        if (out != null && !response.ended() && !response.closed()) {
            response.write(out);
        }
    }

    public void end() {
        if (pingTimer >= 0) {
            vertx.cancelTimer(pingTimer);
        }
        if (!response.ended() && !response.closed()) {
            Buffer out = pending;
            pending = null;
            if (out != null) {
                response.end(out);
            } else {
                response.end();
            }
        }
    }
}

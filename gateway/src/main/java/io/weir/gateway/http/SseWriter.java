package io.weir.gateway.http;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Server-sent events as sse-starlette (LLM Engine's server) writes them: chunked, one {@code data: <json>}
 * event per write, flushed at once, and a {@code : ping} comment every 15 s so proxies keep the
 * connection open while a request waits.
 */
public final class SseWriter {
    private static final long PING_MS = 15_000;
    private static final DateTimeFormatter PING_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private final HttpServerResponse response;
    private final boolean http1;
    private final Vertx vertx;
    private long pingTimer = -1;

    public SseWriter(HttpServerRequest request, Vertx vertx) {
        this.response = request.response();
        this.http1 = request.version() != HttpVersion.HTTP_2;
        this.vertx = vertx;
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
        pingTimer = vertx.setPeriodic(PING_MS, id -> {
            if (!response.ended() && !response.closed()) {
                response.write(": ping - " + ZonedDateTime.now(ZoneOffset.UTC).format(PING_TIME) + "\r\n\r\n");
            }
        });
    }

    public boolean isOpen() {
        return response.headWritten();
    }

    public void event(String json) {
        if (!response.ended() && !response.closed()) {
            response.write("data: " + json + "\r\n\r\n");
        }
    }

    public void end() {
        if (pingTimer >= 0) {
            vertx.cancelTimer(pingTimer);
        }
        if (!response.ended() && !response.closed()) {
            response.end();
        }
    }
}

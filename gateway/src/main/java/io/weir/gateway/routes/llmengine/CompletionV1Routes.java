package io.weir.gateway.routes.llmengine;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.completions.SseRelay;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.HttpErrors;
import io.weir.infra.messages.CompletionEvent;

import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * POST /v1/llm/completions-sync and /v1/llm/completions-stream?model_endpoint_name=NAME, answering in
 * LLM Engine's shapes: {@code {"request_id", "output": {...}}} and a stream of such chunks (never
 * {@code [DONE]}: the llmengine client would fail on it).
 */
public final class CompletionV1Routes {
    private static final DateTimeFormatter ERROR_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'");

    private final CompletionCalls calls;

    public CompletionV1Routes(CompletionCalls calls) {
        this.calls = calls;
    }

    public void sync(RoutingContext ctx) {
        start(ctx, new SyncCollector(ctx));
    }

    public void stream(RoutingContext ctx) {
        start(ctx, new StreamRelay(ctx));
    }

    private void start(RoutingContext ctx, Relay relay) {
        CompletionV1Parser.CompletionV1 v1;
        String model = ctx.queryParams().get("model_endpoint_name");
        try {
            if (model == null || model.isBlank()) {
                throw ApiException.missingQueryParameter("model_endpoint_name");
            }
            v1 = CompletionV1Parser.parse(ctx.body().buffer());
        } catch (ApiException e) {
            HttpErrors.of(ctx, e);
            return;
        }
        Duration timeout = v1.timeoutSeconds() == null ? CompletionCalls.DEFAULT_TIMEOUT
                : Duration.ofMillis((long) (v1.timeoutSeconds() * 1000));
        calls.start(model, v1.prompt(), v1.sampling(), ApiKeyAuthHandler.apiKey(ctx), timeout, relay)
                .onSuccess(call -> call.cancelOnClose(ctx.response()))
                .onFailure(e -> HttpErrors.of(ctx, ApiException.of(e)));
    }

    /** Turns reply events into an HTTP answer. */
    private interface Relay extends CompletionCalls.Listener {
    }

    /** Collects the whole completion, then answers once. */
    private static final class SyncCollector implements Relay {
        private final RoutingContext ctx;
        private final StringBuilder text = new StringBuilder();
        private final JsonArray tokens = new JsonArray();
        private boolean wantTokens;

        SyncCollector(RoutingContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void onEvent(CompletionEvent event) {
            if (event.isError()) {
                HttpErrors.detail(ctx, event.error().status(), event.error().message());
                return;
            }
            text.append(event.text());
            if (event.logProb() != null) {
                wantTokens = true;
                tokens.add(tokenJson(event));
            }
            if (event.finished()) {
                JsonObject output = new JsonObject()
                        .put("text", text.toString())
                        .put("num_prompt_tokens", event.numPromptTokens())
                        .put("num_completion_tokens", event.numCompletionTokens())
                        .put("tokens", wantTokens ? tokens : null);
                ctx.response().putHeader("content-type", "application/json")
                        .end(new JsonObject().put("request_id", event.requestId()).put("output", output).encode());
            }
        }

        @Override
        public void onTimeout(Duration timeout) {
            HttpErrors.detail(ctx, 504, CompletionCalls.timedOut(timeout));
        }
    }

    /** Streams LLM Engine's chunks; an error after the first is its error chunk. */
    private static final class StreamRelay extends SseRelay implements Relay {
        StreamRelay(RoutingContext ctx) {
            super(ctx);
        }

        @Override
        protected JsonObject tokenEvent(CompletionEvent event) {
            JsonObject output = new JsonObject()
                    .put("text", event.text())
                    .put("finished", event.finished())
                    .put("num_prompt_tokens", event.finished() ? event.numPromptTokens() : null)
                    .put("num_completion_tokens", event.numCompletionTokens())
                    .put("token", event.logProb() != null ? tokenJson(event) : null);
            return new JsonObject().put("request_id", event.requestId()).put("output", output).putNull("error");
        }

        @Override
        protected JsonObject errorEvent(String requestId, int status, String message) {
            JsonObject error = new JsonObject().put("status_code", status).put("content",
                    new JsonObject().put("error", message).put("timestamp", ZonedDateTime.now(ZoneOffset.UTC).format(ERROR_TIME)));
            return new JsonObject().put("request_id", requestId).putNull("output").put("error", error);
        }
    }

    private static JsonObject tokenJson(CompletionEvent event) {
        return new JsonObject().put("token", event.text()).put("log_prob", event.logProb());
    }
}

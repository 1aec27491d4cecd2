package io.weir.gateway.routes.egp;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.registry.ApiKey;
import io.weir.gateway.completions.CollectedCall;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.completions.CompletionResult;
import io.weir.gateway.completions.SseRelay;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.HttpErrors;
import io.weir.infra.messages.CancelRequest;
import io.weir.infra.messages.CompletionEvent;

/**
 * {@code POST /v4/completions}, Scale EGP's completion API (the {@code scale-gp} client, key in
 * {@code x-api-key}): {@code {"completion": {"text", "finish_reason"}, "token_usage": {"prompt",
 * "completion", "total"}}}, or with {@code stream: true} server-sent events of the same shape, where
 * {@code completion.text} is the new piece and {@code token_usage} is null until the last event. Errors
 * are non-2xx JSON ({@code {"detail": ...}}); one after the stream began is a last event
 * {@code {"completion": null, "token_usage": null, "error": {"status_code", "detail"}}}.
 */
public final class EgpCompletionRoutes {
    private final CompletionCalls calls;

    public EgpCompletionRoutes(CompletionCalls calls) {
        this.calls = calls;
    }

    public void create(RoutingContext ctx) {
        EgpCompletionParser.EgpCompletion req;
        try {
            req = EgpCompletionParser.parse(ctx.body().buffer());
        } catch (ApiException e) {
            HttpErrors.of(ctx, e);
            return;
        }
        ApiKey caller = ApiKeyAuthHandler.apiKey(ctx);
        if (req.stream()) {
            calls.start(req.model(), req.prompt(), req.sampling(), caller, CompletionCalls.DEFAULT_TIMEOUT, new StreamRelay(ctx))
                    .onSuccess(call -> call.cancelOnClose(ctx.response()))
                    .onFailure(e -> HttpErrors.of(ctx, ApiException.of(e)));
            return;
        }
        CollectedCall call = calls.collect(req.model(), req.prompt(), req.sampling(), caller, CompletionCalls.DEFAULT_TIMEOUT);
        ctx.response().closeHandler(v -> call.cancel(CancelRequest.CLIENT_GONE));
        call.result()
                .onSuccess(r -> {
                    if (!ctx.response().closed()) {
                        ctx.response().putHeader("content-type", "application/json")
                                .end(response(r.text(), r.finishReason(), usage(r)).encode());
                    }
                })
                .onFailure(e -> HttpErrors.of(ctx, ApiException.of(e)));
    }

    private static JsonObject response(String text, String finishReason, JsonObject usage) {
        return new JsonObject()
                .put("completion", new JsonObject().put("text", text).put("finish_reason", finishReason))
                .put("token_usage", usage);
    }

    private static JsonObject usage(CompletionResult r) {
        return usage(r.promptTokens(), r.completionTokens());
    }

    private static JsonObject usage(int prompt, int completion) {
        return new JsonObject().put("prompt", prompt).put("completion", completion).put("total", prompt + completion);
    }

    /** One event per token, in the response's shape: the new piece, usage on the last only. */
    private static final class StreamRelay extends SseRelay {
        StreamRelay(RoutingContext ctx) {
            super(ctx);
        }

        @Override
        protected JsonObject tokenEvent(CompletionEvent event) {
            JsonObject usage = event.finished() ? usage(count(event.numPromptTokens()), count(event.numCompletionTokens())) : null;
            return response(event.text(), event.finished() ? event.finishReason() : null, usage);
        }

        @Override
        protected JsonObject errorEvent(String requestId, int status, String message) {
            return new JsonObject().putNull("completion").putNull("token_usage")
                    .put("error", new JsonObject().put("status_code", status).put("detail", message));
        }

        private static int count(Integer n) {
            return n == null ? 0 : n;
        }
    }
}

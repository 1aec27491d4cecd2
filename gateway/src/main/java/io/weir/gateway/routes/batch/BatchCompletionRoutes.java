package io.weir.gateway.routes.batch;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.registry.ApiKey;
import io.weir.gateway.completions.CollectedCall;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.completions.CompletionResult;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.HttpErrors;
import io.weir.infra.messages.CancelRequest;

import java.util.List;
import java.util.stream.Collectors;

/**
 * LiteLLM's three batch modes, served: the calls all go out at once through {@link CompletionCalls} (no
 * thread per call) and run side by side on the workers.
 * <ul>
 *   <li>{@code POST /v1/batch/completions}: many prompts to one model ({@code batch_completion}); one
 *       result per prompt, in input order, a failure in its own slot.</li>
 *   <li>{@code POST /v1/batch/completion-models}: one prompt to many models, fastest answer wins
 *       ({@code batch_completion_models}); the others are cancelled on their workers.</li>
 *   <li>{@code POST /v1/batch/completion-models/all}: one prompt to many models, every successful answer
 *       in models order ({@code batch_completion_models_all_responses}); failures are left out of the
 *       results.</li>
 * </ul>
 * A caller that leaves cancels every call still running. Bodies: see {@link BatchRequestParser}.
 */
public final class BatchCompletionRoutes {
    private final CompletionCalls calls;

    public BatchCompletionRoutes(CompletionCalls calls) {
        this.calls = calls;
    }

    public void manyPrompts(RoutingContext ctx) {
        BatchRequestParser.ManyPrompts batch;
        try {
            batch = BatchRequestParser.manyPrompts(ctx.body().buffer());
        } catch (ApiException e) {
            HttpErrors.of(ctx, e);
            return;
        }
        ApiKey caller = ApiKeyAuthHandler.apiKey(ctx);
        // One lookup for the whole batch: an unknown model is the caller's error, not one per slot.
        calls.endpoint(batch.model(), caller.tenant()).onFailure(e -> HttpErrors.of(ctx, ApiException.of(e))).onSuccess(endpoint -> {
            List<CollectedCall> all = batch.prompts().stream()
                    .map(prompt -> calls.collect(batch.model(), prompt, batch.sampling(), caller, batch.timeout()))
                    .toList();
            cancelAllOnClose(ctx, all);
            whenAllEnded(all).onComplete(v -> {
                JsonArray results = new JsonArray();
                all.forEach(c -> results.add(slot(c)));
                respond(ctx, new JsonObject().put("results", results));
            });
        });
    }

    public void firstModel(RoutingContext ctx) {
        List<CollectedCall> all = startForEachModel(ctx);
        if (all == null) {
            return;
        }
        Promise<CollectedCall> first = Promise.promise();
        all.forEach(c -> c.result().onSuccess(r -> first.tryComplete(c)));
        whenAllEnded(all).onComplete(v -> first.tryFail("no model answered"));
        first.future().onSuccess(winner -> {
            JsonArray losers = new JsonArray();
            for (CollectedCall c : all) {
                if (c != winner) {
                    JsonObject loser = new JsonObject().put("model", c.model()).put("request_id", c.requestId());
                    if (c.result().failed()) {
                        loser.put("outcome", "failed").put("error", error(ApiException.of(c.result().cause())));
                    } else {
                        loser.put("outcome", "cancelled");
                        c.cancel(CancelRequest.RACE_LOST);
                    }
                    losers.add(loser);
                }
            }
            respond(ctx, slot(winner).put("losers", losers));
        }).onFailure(e -> {
            List<ApiException> errors = all.stream().map(c -> ApiException.of(c.result().cause())).toList();
            int status = errors.stream().map(ApiException::status).distinct().count() == 1 ? errors.getFirst().status() : 502;
            String detail = all.stream().map(c -> c.model() + ": " + ApiException.of(c.result().cause()).getMessage())
                    .collect(Collectors.joining("; ", "No model answered. ", ""));
            HttpErrors.detail(ctx, status, detail);
        });
    }

    public void allModels(RoutingContext ctx) {
        List<CollectedCall> all = startForEachModel(ctx);
        if (all == null) {
            return;
        }
        whenAllEnded(all).onComplete(v -> {
            JsonArray results = new JsonArray();
            JsonArray failed = new JsonArray();
            all.forEach(c -> (c.result().succeeded() ? results : failed).add(slot(c)));
            respond(ctx, new JsonObject().put("results", results).put("failed", failed));
        });
    }

    /** Parses a one-prompt-many-models body and starts one call per model; null (answered) if the body is bad. */
    private List<CollectedCall> startForEachModel(RoutingContext ctx) {
        BatchRequestParser.ManyModels batch;
        try {
            batch = BatchRequestParser.manyModels(ctx.body().buffer());
        } catch (ApiException e) {
            HttpErrors.of(ctx, e);
            return null;
        }
        ApiKey caller = ApiKeyAuthHandler.apiKey(ctx);
        List<CollectedCall> all = batch.models().stream()
                .map(model -> calls.collect(model, batch.prompt(), batch.sampling(), caller, batch.timeout()))
                .toList();
        cancelAllOnClose(ctx, all);
        return all;
    }

    /** Completes once every call has ended, however it ended. */
    private static Future<?> whenAllEnded(List<CollectedCall> all) {
        return Future.join(all.stream().map(CollectedCall::result).toList());
    }

    private static void cancelAllOnClose(RoutingContext ctx, List<CollectedCall> all) {
        if (ctx.response().closed()) {
            all.forEach(c -> c.cancel(CancelRequest.CLIENT_GONE));
        } else {
            ctx.response().closeHandler(v -> all.forEach(c -> c.cancel(CancelRequest.CLIENT_GONE)));
        }
    }

    /** One call's slot: {model, request_id, output, error}, exactly one of output and error non-null. */
    private static JsonObject slot(CollectedCall c) {
        JsonObject slot = new JsonObject().put("model", c.model()).put("request_id", c.requestId());
        if (c.result().succeeded()) {
            CompletionResult r = c.result().result();
            return slot.put("output", new JsonObject()
                            .put("text", r.text())
                            .put("num_prompt_tokens", r.promptTokens())
                            .put("num_completion_tokens", r.completionTokens())
                            .put("finish_reason", r.finishReason()))
                    .putNull("error");
        }
        return slot.putNull("output").put("error", error(ApiException.of(c.result().cause())));
    }

    private static JsonObject error(ApiException e) {
        return new JsonObject().put("status_code", e.status()).put("detail", e.getMessage());
    }

    private static void respond(RoutingContext ctx, JsonObject body) {
        if (!ctx.response().closed() && !ctx.response().ended()) {
            ctx.response().putHeader("content-type", "application/json").end(body.encode());
        }
    }
}

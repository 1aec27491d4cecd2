package io.weir.gateway.routes.llmengine;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.HttpErrors;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;

/**
 * GET /v1/llm/model-endpoints and /v1/llm/model-endpoints/{name}: the registry's endpoints in LLM Engine's
 * GetLLMEndpointResponse shape. {@code spec} is always null: the client validates a present spec strictly.
 */
public final class ModelEndpointRoutes {
    private final ModelRegistry registry;

    public ModelEndpointRoutes(ModelRegistry registry) {
        this.registry = registry;
    }

    public void list(RoutingContext ctx) {
        ctx.vertx().executeBlocking(registry::list).onComplete(ar -> {
            if (ar.failed()) {
                HttpErrors.detail(ctx, 503, "registry unavailable: " + ar.cause().getMessage());
                return;
            }
            String nameFilter = ctx.queryParams().get("name");
            JsonArray out = new JsonArray();
            ar.result().stream().filter(e -> nameFilter == null || e.name().equals(nameFilter)).map(ModelEndpointRoutes::view).forEach(out::add);
            json(ctx, new JsonObject().put("model_endpoints", out));
        });
    }

    public void get(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        Future.fromCompletionStage(registry.getAsync(name), ctx.vertx().getOrCreateContext()).onComplete(ar -> {
            if (ar.failed()) {
                HttpErrors.detail(ctx, 503, "registry unavailable: " + ar.cause().getMessage());
            } else if (ar.result().isEmpty()) {
                HttpErrors.detail(ctx, 404, "Model endpoint '" + name + "' not found.");
            } else {
                json(ctx, view(ar.result().get()));
            }
        });
    }

    static JsonObject view(ModelEndpoint e) {
        return new JsonObject()
                .put("id", "end_" + e.name())
                .put("name", e.name())
                .put("model_name", e.modelName())
                .put("source", e.source())
                .put("status", e.status().name())
                .put("status_reason", e.statusReason())
                .put("inference_framework", e.inferenceFramework())
                .put("inference_framework_image_tag", "weir")
                .put("num_shards", e.numShards())
                .put("quantize", e.quantize())
                .put("checkpoint_path", e.checkpointPath())
                .put("context_length", e.contextLength())
                .put("public_inference", e.publicInference())
                .put("labels", new JsonObject(new java.util.HashMap<>(e.labels())))
                .put("chat_template_override", e.chatTemplateOverride())
                .putNull("spec");
    }

    private static void json(RoutingContext ctx, JsonObject body) {
        ctx.response().putHeader("content-type", "application/json").end(body.encode());
    }
}

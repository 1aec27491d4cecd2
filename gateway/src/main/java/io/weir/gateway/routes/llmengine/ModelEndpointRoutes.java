package io.weir.gateway.routes.llmengine;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.HttpErrors;
import io.weir.registry.CheckpointPolicy;
import io.weir.registry.EndpointStatus;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;

import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * LLM Engine's Model API over the registry: list, get, create, update, delete. A tenant sees its own
 * endpoints and the public_inference ones; anything else is 404 to it. Changing or deleting a visible
 * endpoint it does not own is 403. {@code spec} is always null: the client validates a present spec strictly.
 */
public final class ModelEndpointRoutes {
    private final ModelRegistry registry;
    private final CheckpointPolicy checkpoints;

    public ModelEndpointRoutes(ModelRegistry registry, CheckpointPolicy checkpoints) {
        this.registry = registry;
        this.checkpoints = checkpoints;
    }

    public void list(RoutingContext ctx) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        String nameFilter = ctx.queryParams().get("name");
        blocking(ctx, () -> {
            JsonArray out = new JsonArray();
            registry.list().stream()
                    .filter(e -> e.isVisibleTo(tenant))
                    .filter(e -> nameFilter == null || e.name().equals(nameFilter))
                    .map(ModelEndpointRoutes::view)
                    .forEach(out::add);
            return new JsonObject().put("model_endpoints", out);
        });
    }

    public void get(RoutingContext ctx) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        String name = ctx.pathParam("name");
        blocking(ctx, () -> view(visibleEndpoint(name, tenant)));
    }

    public void create(RoutingContext ctx) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        blocking(ctx, () -> {
            ModelEndpoint endpoint = ModelEndpointRequests.create(ctx.body().buffer(), tenant, registry.clock().instant(), this::checkCheckpoint);
            if (!registry.create(endpoint)) {
                throw ApiException.badRequest("Model endpoint '" + endpoint.name() + "' already exists.");
            }
            return taskCreated();
        });
    }

    public void update(RoutingContext ctx) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        String name = ctx.pathParam("name");
        blocking(ctx, () -> {
            changeableEndpoint(name, tenant);
            var change = ModelEndpointRequests.update(ctx.body().buffer(), registry.clock().instant(), this::checkCheckpoint);
            if (!registry.update(name, change)) {
                throw ApiException.notFound("Model endpoint '" + name + "' not found.");
            }
            return taskCreated();
        });
    }

    public void delete(RoutingContext ctx) {
        String tenant = ApiKeyAuthHandler.tenant(ctx);
        String name = ctx.pathParam("name");
        blocking(ctx, () -> {
            changeableEndpoint(name, tenant);
            // Workers unload it on seeing the mark; the registry's reaper removes it once none serves it.
            registry.setStatus(name, EndpointStatus.DELETE_IN_PROGRESS, null, null);
            return new JsonObject().put("deleted", true);
        });
    }

    ModelRegistry registry() {
        return registry;
    }

    /** The endpoint if the tenant may see it; 404 otherwise, exactly as if it did not exist. */
    ModelEndpoint visibleEndpoint(String name, String tenant) {
        return registry.get(name).filter(e -> e.isVisibleTo(tenant))
                .orElseThrow(() -> ApiException.notFound("Model endpoint '" + name + "' not found."));
    }

    /** The endpoint if the tenant owns it (403 otherwise) and it is not being deleted (409). */
    private ModelEndpoint changeableEndpoint(String name, String tenant) {
        ModelEndpoint e = visibleEndpoint(name, tenant);
        if (!e.ownerTenant().equals(tenant)) {
            throw ApiException.status(403, "Model endpoint '" + name + "' belongs to another tenant; it may be used but not changed.");
        }
        if (e.status() == EndpointStatus.DELETE_IN_PROGRESS) {
            throw ApiException.status(409, "Model endpoint '" + name + "' is being deleted.");
        }
        return e;
    }

    private String checkCheckpoint(String path) {
        try {
            return checkpoints.resolve(path).toString();
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
    }

    private static JsonObject taskCreated() {
        return new JsonObject().put("endpoint_creation_task_id", "task-" + UUID.randomUUID());
    }

    /** Runs registry work off the event loop and answers with its JSON, or with the error it raised. */
    static void blocking(RoutingContext ctx, Callable<JsonObject> work) {
        ctx.vertx().executeBlocking(work).onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.response().putHeader("content-type", "application/json").end(ar.result().encode());
            } else if (ar.cause() instanceof ApiException api) {
                HttpErrors.of(ctx, api);
            } else {
                HttpErrors.detail(ctx, 503, "registry unavailable: " + ar.cause().getMessage());
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
                .put("min_workers", e.minWorkers())
                .put("max_workers", e.maxWorkers())
                .put("per_worker", e.perWorker())
                .put("public_inference", e.publicInference())
                .put("labels", new JsonObject(new java.util.HashMap<>(e.labels())))
                .put("chat_template_override", e.chatTemplateOverride())
                .putNull("spec");
    }

}

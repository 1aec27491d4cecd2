package io.weir.gateway.routes.health;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.registry.EndpointStatus;
import io.weir.registry.ModelRegistry;
import io.weir.registry.WorkerDirectory;

/**
 * /healthz answers while the process runs. /readyz answers 200 only when a request would be served: some
 * endpoint is READY and a live worker serves it; else 503 with what is missing.
 */
public final class HealthRoutes {
    private final ModelRegistry registry;
    private final WorkerDirectory workers;

    public HealthRoutes(ModelRegistry registry, WorkerDirectory workers) {
        this.registry = registry;
        this.workers = workers;
    }

    public void healthz(RoutingContext ctx) {
        ctx.response().setStatusCode(200).end();
    }

    public void readyz(RoutingContext ctx) {
        ctx.vertx().executeBlocking(() -> {
            java.util.Set<String> served = workers.servedEndpoints();
            return registry.list().stream()
                    .filter(e -> e.status() == EndpointStatus.READY && served.contains(e.name()))
                    .map(e -> e.name()).toList();
        }).onComplete(ar -> {
            if (ar.succeeded() && !ar.result().isEmpty()) {
                ctx.response().setStatusCode(200).putHeader("content-type", "application/json")
                        .end(new JsonObject().put("ready", true).put("models", ar.result()).encode());
            } else {
                String why = ar.failed() ? "registry unavailable: " + ar.cause().getMessage() : "no model endpoint is READY on a live worker";
                ctx.response().setStatusCode(503).putHeader("content-type", "application/json")
                        .end(new JsonObject().put("ready", false).put("detail", why).encode());
            }
        });
    }
}

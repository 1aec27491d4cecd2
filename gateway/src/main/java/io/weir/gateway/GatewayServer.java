package io.weir.gateway;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.gateway.auth.AdminOnlyHandler;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.gateway.chat.ChatTemplates;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.http.HttpErrors;
import io.weir.gateway.routes.batch.BatchCompletionRoutes;
import io.weir.gateway.routes.egp.EgpCompletionRoutes;
import io.weir.gateway.routes.health.HealthRoutes;
import io.weir.gateway.routes.metrics.MetricsRoutes;
import io.weir.gateway.routes.llmengine.CompletionV1Routes;
import io.weir.gateway.routes.llmengine.ModelEndpointRoutes;
import com.hazelcast.core.HazelcastInstance;
import io.weir.gateway.routes.llmengine.ModelDownloadRoutes;
import io.weir.gateway.routes.admin.ApiKeyAdminRoutes;
import io.weir.gateway.routes.usage.UsageRoutes;
import io.weir.gateway.routes.openai.OpenAiRoutes;
import io.weir.registry.ApiKeys;
import io.weir.registry.CheckpointPolicy;
import io.weir.registry.ClusterSecrets;
import io.weir.registry.ModelRegistry;
import io.weir.registry.WorkerDirectory;
import io.weir.registry.usage.UsageLedger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;

/** The HTTP surface: one line per route, pointing at the class that serves it. */
final class GatewayServer {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);
    private static final long MAX_BODY_BYTES = 16L * 1024 * 1024;

    private GatewayServer() {
    }

    static Router router(Vertx vertx, HazelcastInstance hazelcast, ModelRegistry registry, WorkerDirectory workers,
                         CompletionCalls calls, UsageLedger usageLedger) {
        ApiKeys keys = new ApiKeys(hazelcast);
        HealthRoutes health = new HealthRoutes(registry, workers);
        MetricsRoutes metrics = new MetricsRoutes(workers, calls.metrics());
        CompletionV1Routes v1 = new CompletionV1Routes(calls);
        ModelEndpointRoutes endpoints = new ModelEndpointRoutes(registry, new CheckpointPolicy(hazelcast));
        ModelDownloadRoutes downloads = new ModelDownloadRoutes(endpoints, ClusterSecrets.urlSigningKey(hazelcast), Clock.systemUTC());
        BatchCompletionRoutes batch = new BatchCompletionRoutes(calls);
        EgpCompletionRoutes egp = new EgpCompletionRoutes(calls);
        OpenAiRoutes openai = new OpenAiRoutes(calls, registry, new ChatTemplates());
        ApiKeyAuthHandler auth = new ApiKeyAuthHandler(keys);
        ApiKeyAdminRoutes apiKeys = new ApiKeyAdminRoutes(keys);
        UsageRoutes usage = new UsageRoutes(usageLedger);

        Router router = Router.router(vertx);
        router.get("/healthz").handler(health::healthz);
        router.get("/healthcheck").handler(health::healthz);
        router.get("/readyz").handler(health::readyz);

        // Signed download URLs carry their own authorization: they come before the API-key check.
        router.get("/v1/llm/model-endpoints/:name/files/:file").handler(downloads::file);
        router.route().handler(BodyHandler.create().setBodyLimit(MAX_BODY_BYTES));
        router.route("/v1/*").handler(auth);
        router.route("/v2/*").handler(auth);
        router.post("/v1/llm/completions-sync").handler(v1::sync);
        router.post("/v1/llm/completions-stream").handler(v1::stream);
        router.get("/v1/llm/model-endpoints").handler(endpoints::list);
        router.post("/v1/llm/model-endpoints").handler(endpoints::create);
        router.post("/v1/llm/model-endpoints/download").handler(downloads::urls);
        router.get("/v1/llm/model-endpoints/:name").handler(endpoints::get);
        router.put("/v1/llm/model-endpoints/:name").handler(endpoints::update);
        router.delete("/v1/llm/model-endpoints/:name").handler(endpoints::delete);
        router.post("/v1/batch/completions").handler(batch::manyPrompts);
        router.post("/v1/batch/completion-models").handler(batch::firstModel);
        router.post("/v1/batch/completion-models/all").handler(batch::allModels);
        router.route("/v4/*").handler(auth);
        router.post("/v4/completions").handler(egp::create);
        router.get("/v1/usage").handler(usage::get);
        // Series name every worker's endpoints, private ones included: admins only (Prometheus sends the key as a
        // bearer token or basic auth from its scrape config).
        router.get("/metrics").handler(auth).handler(new AdminOnlyHandler()).handler(metrics::get);
        router.route("/v1/admin/*").handler(new AdminOnlyHandler());
        router.post("/v1/admin/api-keys").handler(apiKeys::create);
        router.get("/v1/admin/api-keys").handler(apiKeys::list);
        router.delete("/v1/admin/api-keys/:id").handler(apiKeys::revoke);
        for (String api : List.of("/v2", "/v1")) { // OpenAI-compatible: /v2 as LLM Engine serves it, /v1 as OpenAI clients expect
            router.post(api + "/completions").handler(openai::completions);
            router.post(api + "/chat/completions").handler(openai::chatCompletions);
            router.get(api + "/models").handler(openai::listModels);
            router.get(api + "/models/:model").handler(openai::getModel);
        }

        router.errorHandler(404, ctx -> HttpErrors.detail(ctx, 404, "Not Found"));
        router.errorHandler(405, ctx -> HttpErrors.detail(ctx, 405, "Method Not Allowed"));
        router.errorHandler(413, ctx -> HttpErrors.detail(ctx, 413, "Request body larger than " + MAX_BODY_BYTES + " bytes"));
        router.errorHandler(500, GatewayServer::internalError);
        return router;
    }

    private static void internalError(RoutingContext ctx) {
        LOG.error("unhandled error on {} {}", ctx.request().method(), ctx.request().path(), ctx.failure());
        HttpErrors.detail(ctx, 500, "Internal error occurred: " + (ctx.failure() == null ? "unknown" : ctx.failure().getMessage()));
    }

    static HttpServer listen(Vertx vertx, Router router, String host, int port) throws Exception {
        return vertx.createHttpServer().requestHandler(router).listen(port, host)
                .toCompletionStage().toCompletableFuture().get();
    }
}

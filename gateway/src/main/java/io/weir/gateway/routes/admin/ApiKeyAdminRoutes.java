package io.weir.gateway.routes.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.HttpErrors;
import io.weir.gateway.http.JsonFields;
import io.weir.registry.ApiKey;
import io.weir.registry.ApiKeys;

import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;

/**
 * Admin routes for API keys (behind {@link io.weir.gateway.auth.AdminOnlyHandler}):
 * <ul>
 *   <li>POST /v1/admin/api-keys {tenant, admin?, rate_limit_per_minute?, max_concurrent_requests?} → the new
 *       key's record and, this once, the key itself;</li>
 *   <li>GET /v1/admin/api-keys → {"api_keys": [...]} (records only: raw keys are never stored);</li>
 *   <li>DELETE /v1/admin/api-keys/{id} → the revoked record; from then on the key gets 401 everywhere.</li>
 * </ul>
 */
public final class ApiKeyAdminRoutes {
    private final ApiKeys keys;

    public ApiKeyAdminRoutes(ApiKeys keys) {
        this.keys = keys;
    }

    /** What a create request asks for. */
    record NewKey(String tenant, boolean admin, Integer rateLimitPerMinute, Integer maxConcurrentRequests) {
    }

    public void create(RoutingContext ctx) {
        NewKey asked;
        try {
            asked = parse(ctx);
        } catch (ApiException e) {
            HttpErrors.of(ctx, e);
            return;
        }
        answer(ctx, () -> keys.create(asked.tenant(), asked.admin(), asked.rateLimitPerMinute(), asked.maxConcurrentRequests()),
                created -> view(created.record()).put("key", created.key()));
    }

    public void list(RoutingContext ctx) {
        answer(ctx, keys::list, all -> {
            JsonArray out = new JsonArray();
            all.stream().map(ApiKeyAdminRoutes::view).forEach(out::add);
            return new JsonObject().put("api_keys", out);
        });
    }

    public void revoke(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        answer(ctx, () -> keys.revoke(id), revoked -> view(revoked.orElseThrow(
                () -> ApiException.notFound("API key '" + id + "' not found."))));
    }

    static NewKey parse(RoutingContext ctx) {
        JsonFields f = JsonFields.parse(ctx.body().buffer());
        String tenant = f.requiredString("tenant");
        if (!ApiKeys.TENANT.matcher(tenant).matches()) {
            throw ApiException.invalid("string_pattern_mismatch", "tenant",
                    "Tenant must be 1 to 128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit");
        }
        Boolean admin = f.optionalBoolean("admin");
        return new NewKey(tenant, admin != null && admin, atLeastOne(f, "rate_limit_per_minute"),
                atLeastOne(f, "max_concurrent_requests"));
    }

    private static Integer atLeastOne(JsonFields f, String field) {
        Integer v = f.optionalInt(field);
        if (v != null && v < 1) {
            throw ApiException.invalid("greater_than_equal", field, "Input should be greater than or equal to 1");
        }
        return v;
    }

    static JsonObject view(ApiKey key) {
        return new JsonObject()
                .put("id", key.id())
                .put("tenant", key.tenant())
                .put("admin", key.admin())
                .put("rate_limit_per_minute", key.rateLimitPerMinute())
                .put("max_concurrent_requests", key.maxConcurrentRequests())
                .put("created_at", key.createdAt().toString())
                .put("revoked", key.isRevoked())
                .put("revoked_at", Optional.ofNullable(key.revokedAt()).map(Object::toString).orElse(null));
    }

    /** Runs a registry call off the event loop and answers with its JSON, or with the error it raised. */
    private static <T> void answer(RoutingContext ctx, Callable<T> call, Function<T, JsonObject> json) {
        ctx.vertx().executeBlocking(call).map(json).onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.response().putHeader("content-type", "application/json").end(ar.result().encode());
            } else if (ar.cause() instanceof ApiException e) {
                HttpErrors.of(ctx, e);
            } else {
                HttpErrors.detail(ctx, 503, "API keys unavailable: " + ar.cause().getMessage());
            }
        });
    }
}

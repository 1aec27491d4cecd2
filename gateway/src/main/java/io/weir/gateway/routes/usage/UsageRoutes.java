package io.weir.gateway.routes.usage;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.auth.ApiKeyAuthHandler;
import io.weir.gateway.http.HttpErrors;
import io.weir.registry.ApiKey;
import io.weir.registry.usage.TenantUsage;
import io.weir.registry.usage.TokenCounts;
import io.weir.registry.usage.UsageLedger;

/**
 * GET /v1/usage: the calling key's tenant's token usage, in total and per model. Only admin keys may ask for
 * another tenant's ({@code ?tenant=NAME}); any other key gets 403 for it.
 */
public final class UsageRoutes {
    private final UsageLedger ledger;

    public UsageRoutes(UsageLedger ledger) {
        this.ledger = ledger;
    }

    public void get(RoutingContext ctx) {
        ApiKey caller = ApiKeyAuthHandler.apiKey(ctx);
        String asked = ctx.queryParams().get("tenant");
        String tenant = asked == null || asked.isBlank() ? caller.tenant() : asked;
        if (!tenant.equals(caller.tenant()) && !caller.admin()) {
            HttpErrors.detail(ctx, 403, "Only admin API keys may read another tenant's usage.");
            return;
        }
        Future.fromCompletionStage(ledger.ofAsync(tenant), ctx.vertx().getOrCreateContext()).onComplete(ar -> {
            if (ar.failed()) {
                HttpErrors.detail(ctx, 503, "usage unavailable: " + ar.cause().getMessage());
            } else {
                ctx.response().putHeader("content-type", "application/json").end(view(ar.result()).encode());
            }
        });
    }

    static JsonObject view(TenantUsage usage) {
        JsonArray models = new JsonArray();
        usage.models().forEach((model, counts) -> models.add(counts(counts).put("model", model)));
        return counts(usage.total())
                .put("tenant", usage.tenant())
                .put("models", models)
                .put("updated_at", usage.updatedAt() == null ? null : usage.updatedAt().toString());
    }

    private static JsonObject counts(TokenCounts c) {
        return new JsonObject()
                .put("requests", c.requests())
                .put("prompt_tokens", c.promptTokens())
                .put("completion_tokens", c.completionTokens())
                .put("total_tokens", c.totalTokens());
    }
}

package io.weir.registry.usage;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * One tenant's usage since its first request: totals and a breakdown per model endpoint.
 *
 * @param updatedAt when the last request was counted
 */
public record TenantUsage(String tenant, TokenCounts total, Map<String, TokenCounts> models, Instant updatedAt) {

    public static TenantUsage none(String tenant) {
        return new TenantUsage(tenant, TokenCounts.ZERO, Map.of(), null);
    }

    /** This usage with one more finished request counted. */
    public TenantUsage plus(String model, long promptTokens, long completionTokens, Instant at) {
        Map<String, TokenCounts> byModel = new TreeMap<>(models);
        byModel.merge(model, TokenCounts.ZERO.plusRequest(promptTokens, completionTokens),
                (old, one) -> old.plusRequest(promptTokens, completionTokens));
        return new TenantUsage(tenant, total.plusRequest(promptTokens, completionTokens), byModel, at);
    }
}

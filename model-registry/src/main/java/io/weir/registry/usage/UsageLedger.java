package io.weir.registry.usage;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import io.weir.infra.hazelcast.DurableMaps;
import io.weir.infra.json.Json;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Token usage per tenant, in a durable Hazelcast map (tenant → {@link TenantUsage} as JSON). Each finished
 * request is added by an entry processor on the member owning the tenant's entry, so gateways counting at
 * the same time never lose an update.
 */
public final class UsageLedger {
    static final String MAP_NAME = DurableMaps.USAGE;

    private final IMap<String, String> usage;

    public UsageLedger(HazelcastInstance hazelcast) {
        this.usage = hazelcast.getMap(MAP_NAME);
    }

    /** Counts one finished request; completes once the member has it (and its map store has written it). */
    public CompletionStage<Void> record(String tenant, String model, long promptTokens, long completionTokens, Instant at) {
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("token counts cannot be negative");
        }
        return usage.submitToKey(tenant, new Add(model, promptTokens, completionTokens, at.toEpochMilli())).thenApply(v -> null);
    }

    /** A tenant's usage (all zero if it has made no request), without blocking the caller. */
    public CompletionStage<TenantUsage> ofAsync(String tenant) {
        return usage.getAsync(tenant).thenApply(json -> json == null ? TenantUsage.none(tenant) : Json.fromString(json, TenantUsage.class));
    }

    /** Adds one request to the tenant's entry, in place on its owner. Deterministic, so backups re-run it. */
    record Add(String model, long promptTokens, long completionTokens, long atMillis) implements EntryProcessor<String, String, Void> {
        @Override
        public Void process(Map.Entry<String, String> entry) {
            TenantUsage current = entry.getValue() == null ? TenantUsage.none(entry.getKey())
                    : Json.fromString(entry.getValue(), TenantUsage.class);
            entry.setValue(Json.toString(current.plus(model, promptTokens, completionTokens, Instant.ofEpochMilli(atMillis))));
            return null;
        }
    }
}

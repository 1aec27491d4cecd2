package io.weir.registry.limits;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Requests-per-minute limits per API key, shared by every gateway: the state of each key is one number in a
 * Hazelcast map, changed only by an entry processor on the member that owns it, so concurrent requests
 * through different gateways are counted exactly once each (no per-process counter decides anything).
 *
 * <p>The algorithm is GCRA (a token bucket kept as one timestamp): a key limited to N per minute may send
 * N requests at once, then one more every 60/N seconds. A refused request costs nothing and learns how
 * long to wait. The state is one number per limited key.
 */
public final class RateLimits {
    static final String MAP_NAME = "weir.rate-limits";

    private final IMap<String, Long> buckets;

    public RateLimits(HazelcastInstance hazelcast) {
        this.buckets = hazelcast.getMap(MAP_NAME);
    }

    /** Takes one request from the key's allowance: completes with zero if admitted, else the time to wait. */
    public CompletionStage<Duration> tryAcquire(String keyId, int perMinute) {
        if (perMinute < 1) {
            throw new IllegalArgumentException("a rate limit must be at least 1 per minute");
        }
        return buckets.submitToKey(keyId, new Take(perMinute)).thenApply(Duration::ofNanos);
    }

    /**
     * GCRA step on the owning member, with its clock. The value is the "theoretical arrival time" (TAT, in
     * nanoseconds of wall clock): admitting moves it one emission interval later; a request is admitted
     * while the TAT is at most (N-1) intervals ahead of now.
     */
    record Take(int perMinute) implements EntryProcessor<String, Long, Long> {
        @Override
        public Long process(Map.Entry<String, Long> entry) {
            long now = System.currentTimeMillis() * 1_000_000L;
            long interval = TimeUnit.MINUTES.toNanos(1) / perMinute;
            long tolerance = interval * (perMinute - 1);
            long tat = entry.getValue() == null ? now : Math.max(entry.getValue(), now);
            if (tat - now > tolerance) {
                return tat - tolerance - now;
            }
            entry.setValue(tat + interval);
            return 0L;
        }
    }
}

package io.weir.registry.limits;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Limits on the completion calls an API key runs at once, shared by every gateway. Each running call holds
 * a lease in a Hazelcast map (key id → lease id → expiry), taken and given back by entry processors on the
 * owning member. The holder renews its leases while they run; a gateway that dies stops renewing, and its
 * leases lapse after {@link #leaseTime()}, so a crash never keeps a key's slots taken for long.
 */
public final class ConcurrencyLeases implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConcurrencyLeases.class);
    static final String MAP_NAME = "weir.concurrency-leases";
    public static final Duration DEFAULT_LEASE_TIME = Duration.ofSeconds(30);

    private final IMap<String, HashMap<String, Long>> leases;
    private final String holderId;
    private final Duration leaseTime;
    private final Map<String, Lease> held = new ConcurrentHashMap<>();
    private final ScheduledExecutorService renewer;

    /** A slot taken for one call; give it back with {@link #release}. */
    public record Lease(String keyId, String leaseId) {
    }

    /**
     * @param holderId  unique per process (a gateway instance id): names the leases it renews
     * @param leaseTime how long a lease outlives its holder's last renewal; renewed every third of it
     */
    public ConcurrencyLeases(HazelcastInstance hazelcast, String holderId, Duration leaseTime) {
        this.leases = hazelcast.getMap(MAP_NAME);
        this.holderId = holderId;
        this.leaseTime = leaseTime;
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("lease-renewer").unstarted(r));
        long period = Math.max(1, leaseTime.toMillis() / 3);
        renewer.scheduleAtFixedRate(this::renewHeld, period, period, TimeUnit.MILLISECONDS);
    }

    public Duration leaseTime() {
        return leaseTime;
    }

    /** Takes one of the key's {@code max} slots; empty if all are taken by running calls. */
    public CompletionStage<Optional<Lease>> tryAcquire(String keyId, int max) {
        if (max < 1) {
            throw new IllegalArgumentException("a concurrency limit must be at least 1");
        }
        Lease lease = new Lease(keyId, holderId + "/" + UUID.randomUUID());
        held.put(lease.leaseId(), lease); // renewed from now on, in case the call outlives a renewal period
        return leases.submitToKey(keyId, new Acquire(lease.leaseId(), max, leaseTime.toMillis())).thenApply(granted -> {
            if (!granted) {
                held.remove(lease.leaseId());
                return Optional.<Lease>empty();
            }
            return Optional.of(lease);
        }).exceptionally(e -> {
            held.remove(lease.leaseId());
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        });
    }

    /** Gives a slot back; calling it again does nothing. */
    public CompletionStage<Void> release(Lease lease) {
        if (held.remove(lease.leaseId()) == null) {
            return CompletableFuture.completedFuture(null);
        }
        return leases.submitToKey(lease.keyId(), new Release(lease.leaseId())).thenApply(v -> null);
    }

    /** Slots of a key taken now, by every holder; for tests and diagnostics. */
    public int inUse(String keyId) {
        return leases.executeOnKey(keyId, new Count());
    }

    /** Extends every lease this holder has, one entry-processor call per key. */
    void renewHeld() {
        Set<String> keys = held.values().stream().map(Lease::keyId).collect(Collectors.toSet());
        if (keys.isEmpty()) {
            return;
        }
        leases.submitToKeys(keys, new Renew(holderId + "/", leaseTime.toMillis())).whenComplete((r, e) -> {
            if (e != null) {
                LOG.warn("cannot renew concurrency leases: {}", e.toString());
            }
        });
    }

    /** Stops renewing; the leases still held lapse on their own. */
    @Override
    public void close() {
        renewer.shutdownNow();
    }

    /**
     * Drops lapsed leases and writes the rest back; a key with none left loses its entry. (Lapsed leases are
     * dropped on every access of their key. Hazelcast's per-entry TTL is no help here: set from an entry
     * processor, a later write does not push the expiry back.)
     */
    private static void store(Map.Entry<String, HashMap<String, Long>> entry, HashMap<String, Long> current, long now) {
        current.values().removeIf(expiry -> expiry <= now);
        entry.setValue(current.isEmpty() ? null : current);
    }

    private static HashMap<String, Long> current(Map.Entry<String, HashMap<String, Long>> entry) {
        return entry.getValue() == null ? new HashMap<>() : new HashMap<>(entry.getValue());
    }

    record Acquire(String leaseId, int max, long leaseMillis) implements EntryProcessor<String, HashMap<String, Long>, Boolean> {
        @Override
        public Boolean process(Map.Entry<String, HashMap<String, Long>> entry) {
            long now = System.currentTimeMillis();
            HashMap<String, Long> current = current(entry);
            current.values().removeIf(expiry -> expiry <= now);
            boolean granted = current.containsKey(leaseId) || current.size() < max;
            if (granted) {
                current.put(leaseId, now + leaseMillis);
            }
            store(entry, current, now);
            return granted;
        }
    }

    record Release(String leaseId) implements EntryProcessor<String, HashMap<String, Long>, Boolean> {
        @Override
        public Boolean process(Map.Entry<String, HashMap<String, Long>> entry) {
            HashMap<String, Long> current = current(entry);
            boolean had = current.remove(leaseId) != null;
            store(entry, current, System.currentTimeMillis());
            return had;
        }
    }

    record Renew(String holderPrefix, long leaseMillis) implements EntryProcessor<String, HashMap<String, Long>, Integer> {
        @Override
        public Integer process(Map.Entry<String, HashMap<String, Long>> entry) {
            long now = System.currentTimeMillis();
            HashMap<String, Long> current = current(entry);
            current.values().removeIf(expiry -> expiry <= now); // a lapsed lease is not brought back
            int renewed = 0;
            for (Map.Entry<String, Long> lease : current.entrySet()) {
                if (lease.getKey().startsWith(holderPrefix)) {
                    lease.setValue(now + leaseMillis);
                    renewed++;
                }
            }
            store(entry, current, now);
            return renewed;
        }
    }

    record Count() implements EntryProcessor<String, HashMap<String, Long>, Integer> {
        @Override
        public Integer process(Map.Entry<String, HashMap<String, Long>> entry) {
            long now = System.currentTimeMillis();
            return entry.getValue() == null ? 0 : (int) entry.getValue().values().stream().filter(e -> e > now).count();
        }

        @Override
        public EntryProcessor<String, HashMap<String, Long>, Integer> getBackupProcessor() {
            return null; // reads only
        }
    }
}

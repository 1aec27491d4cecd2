package io.weir.registry;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Endpoint lookups for a hot path (every completion request) without a cluster call each: a {@link ModelRegistry#get}
 * crosses to a Hazelcast partition thread and back, and on a machine whose cores the engine keeps busy each such hop
 * waits for a time slice (the completion-service spent 4-30 ms per request in them at 32 concurrent streams).
 *
 * <p>Only endpoints the caller {@code trusts} (say, servable ones) are cached; anything else (absent, failed,
 * being deleted) is read from the registry every time, so a newly created or repaired endpoint is seen at once. A
 * change to a cached endpoint evicts it when the cluster's entry event arrives here, typically within milliseconds
 * of the write: until then this member may still act on the old version, as it would have had the request come a
 * moment earlier.
 */
public final class EndpointCache implements AutoCloseable {
    private final ModelRegistry registry;
    private final Predicate<ModelEndpoint> trusts;
    private final ConcurrentHashMap<String, ModelEndpoint> cached = new ConcurrentHashMap<>();
    private final AtomicLong evictions = new AtomicLong(); // bumped before every eviction: see get
    private final AutoCloseable subscription;

    public EndpointCache(ModelRegistry registry, Predicate<ModelEndpoint> trusts) {
        this.registry = registry;
        this.trusts = trusts;
        this.subscription = registry.onChange(name -> {
            evictions.incrementAndGet();
            cached.remove(name);
        });
    }

    public Optional<ModelEndpoint> get(String name) {
        ModelEndpoint hit = cached.get(name);
        if (hit != null) {
            return Optional.of(hit);
        }
        long before = evictions.get();
        Optional<ModelEndpoint> read = registry.get(name);
        if (read.isPresent() && trusts.test(read.get())) {
            cached.put(name, read.get());
            // An eviction that ran while we read may have found nothing to remove: ours could be the old version.
            if (evictions.get() != before) {
                cached.remove(name, read.get());
            }
        }
        return read;
    }

    @Override
    public void close() throws Exception {
        subscription.close();
    }
}

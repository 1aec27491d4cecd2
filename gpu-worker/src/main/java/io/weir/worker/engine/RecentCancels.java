package io.weir.worker.engine;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Cancels whose request this engine has not seen (yet): a cancel can overtake its request, which travels
 * through the completion-service and may wait in Kafka. Bounded both ways: at most {@code capacity} ids,
 * the oldest forgotten first, and none kept longer than {@code ttl}; most ids here belong to requests that
 * finished or run on another worker and will never arrive. Used from the engine thread only.
 */
final class RecentCancels {
    private final int capacity;
    private final long ttlNanos;
    private final LongSupplier nanoTime;
    private final LinkedHashMap<String, Long> addedAt = new LinkedHashMap<>(); // oldest first

    RecentCancels(int capacity, Duration ttl, LongSupplier nanoTime) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive, got " + capacity);
        }
        this.capacity = capacity;
        this.ttlNanos = ttl.toNanos();
        this.nanoTime = nanoTime;
    }

    void add(String requestId) {
        long now = nanoTime.getAsLong();
        expire(now);
        addedAt.remove(requestId); // re-adding refreshes its place and age
        addedAt.put(requestId, now);
        if (addedAt.size() > capacity) {
            Iterator<String> oldest = addedAt.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    /** True, and forgets it, if the request was cancelled recently. */
    boolean take(String requestId) {
        expire(nanoTime.getAsLong());
        return addedAt.remove(requestId) != null;
    }

    int size() {
        return addedAt.size();
    }

    private void expire(long now) {
        Iterator<Map.Entry<String, Long>> it = addedAt.entrySet().iterator();
        while (it.hasNext() && now - it.next().getValue() > ttlNanos) {
            it.remove();
        }
    }
}

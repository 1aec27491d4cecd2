package io.weir.infra.kafka;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.TreeSet;

/**
 * Which offsets may be committed when requests finish out of order: per partition, the commit point
 * advances only past offsets whose requests are all finished (a worker's: generated; the completion-service's:
 * forwarded and acknowledged). A process that dies therefore leaves every unfinished request to be redelivered.
 * Offsets must be started in increasing order per partition (as a consumer reads them). Used from the consumer
 * thread only; other threads hand finished records over through a queue ({@link #commit}).
 */
public final class OffsetTracker {
    private static final Logger LOG = LoggerFactory.getLogger(OffsetTracker.class);

    private final Map<TopicPartition, TreeSet<Long>> inFlight = new HashMap<>();
    private final Map<TopicPartition, Long> highestStarted = new HashMap<>();
    private final Map<TopicPartition, Long> committable = new HashMap<>();

    public void started(TopicPartition partition, long offset) {
        inFlight.computeIfAbsent(partition, p -> new TreeSet<>()).add(offset);
        highestStarted.merge(partition, offset, Math::max);
    }

    public void finished(TopicPartition partition, long offset) {
        TreeSet<Long> offsets = inFlight.get(partition);
        if (offsets == null || !offsets.remove(offset)) {
            return;
        }
        // Everything below the oldest unfinished offset is done; with none unfinished, everything read is.
        long commitPoint = offsets.isEmpty() ? highestStarted.get(partition) + 1 : offsets.first();
        committable.merge(partition, commitPoint, Math::max);
    }

    /**
     * Marks the records other threads queued in {@code finished} as finished, then commits what became committable,
     * asynchronously (a failed commit only means {@code ifLost}: some requests are handled twice).
     */
    public void commit(Queue<? extends ConsumerRecord<?, ?>> finished, Consumer<?, ?> consumer, String ifLost) {
        ConsumerRecord<?, ?> r;
        while ((r = finished.poll()) != null) {
            finished(new TopicPartition(r.topic(), r.partition()), r.offset());
        }
        var committable = drainCommittable();
        if (!committable.isEmpty()) {
            consumer.commitAsync(committable, (o, error) -> {
                if (error != null) {
                    LOG.warn("offset commit failed ({}): {}", ifLost, error.toString());
                }
            });
        }
    }

    /** Offsets that became committable since the last call (the next offset to read, per partition). */
    public Map<TopicPartition, OffsetAndMetadata> drainCommittable() {
        Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
        committable.forEach((p, offset) -> out.put(p, new OffsetAndMetadata(offset)));
        committable.clear();
        return out;
    }

    /** Forgets partitions this consumer no longer owns; their unfinished requests go to the new owner. */
    public void revoked(Collection<TopicPartition> partitions) {
        partitions.forEach(p -> {
            inFlight.remove(p);
            highestStarted.remove(p);
            committable.remove(p);
        });
    }

    public int inFlightCount() {
        return inFlight.values().stream().mapToInt(TreeSet::size).sum();
    }
}

package io.weir.infra.kafka;

import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OffsetTrackerTest {
    private final TopicPartition p0 = new TopicPartition("t", 0);
    private final TopicPartition p1 = new TopicPartition("t", 1);

    @Test
    void commitPointStopsAtTheOldestUnfinishedRequest() {
        OffsetTracker t = new OffsetTracker();
        t.started(p0, 10);
        t.started(p0, 11);
        t.started(p0, 12);
        t.finished(p0, 11);
        t.finished(p0, 12);
        // 10 is still running: committing past it would lose it if this worker died.
        assertEquals(Map.of(p0, new OffsetAndMetadata(10)), t.drainCommittable());
        t.finished(p0, 10);
        assertEquals(Map.of(p0, new OffsetAndMetadata(13)), t.drainCommittable());
        assertTrue(t.drainCommittable().isEmpty(), "nothing new to commit");
    }

    @Test
    void partitionsAreIndependentAndRevokedOnesForgotten() {
        OffsetTracker t = new OffsetTracker();
        t.started(p0, 0);
        t.started(p1, 5);
        t.finished(p1, 5);
        assertEquals(Map.of(p1, new OffsetAndMetadata(6)), t.drainCommittable());
        t.revoked(List.of(p0));
        assertEquals(0, t.inFlightCount());
        t.finished(p0, 0); // finishing a request of a revoked partition commits nothing
        assertTrue(t.drainCommittable().isEmpty());
    }
}

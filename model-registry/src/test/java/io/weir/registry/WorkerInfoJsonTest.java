package io.weir.registry;

import io.weir.infra.json.Json;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Heartbeats are stored as JSON in Hazelcast: engine counters must survive, and a heartbeat without them still reads. */
class WorkerInfoJsonTest {
    private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

    @Test
    void engineMetricsRoundTrip() {
        EngineMetrics m = new EngineMetrics(3, 1, 512, 16, 128, 40, 900, 5_000, 1_234, 2, 60, 45, 7);
        WorkerInfo info = new WorkerInfo("w-1", "cpu", "2 CPUs", 1L << 34, 2, List.of("tiny"), Map.of("tiny", 4),
                Map.of("tiny", m), NOW);
        WorkerInfo read = Json.fromString(Json.toString(info), WorkerInfo.class);
        assertEquals(info, read);
        assertEquals(45, read.engines().get("tiny").prefixHits());
    }

    @Test
    void aHeartbeatWithoutEnginesReadsAsNone() {
        // what a worker of the previous version writes: a rolling upgrade mixes both in one directory
        String older = "{\"worker_id\":\"w-0\",\"backend\":\"cpu\",\"device\":\"2 CPUs\",\"memory_bytes\":1,\"max_models\":1,"
                + "\"models\":[\"tiny\"],\"load\":{\"tiny\":0},\"heartbeat_at\":\"2026-01-02T03:04:05Z\"}";
        WorkerInfo read = Json.fromString(older, WorkerInfo.class);
        assertEquals(Map.of(), read.engines());
        assertEquals(List.of("tiny"), read.models());
    }
}

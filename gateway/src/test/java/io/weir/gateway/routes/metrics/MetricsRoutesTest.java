package io.weir.gateway.routes.metrics;

import io.weir.registry.EngineMetrics;
import io.weir.registry.WorkerInfo;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The exposition {@code GET /metrics} answers for given workers, in Prometheus' text format 0.0.4. */
class MetricsRoutesTest {
    private static WorkerInfo worker(String id, Map<String, EngineMetrics> engines) {
        return new WorkerInfo(id, "cpu", "2 CPUs", 1L << 30, 2, List.copyOf(engines.keySet()), Map.of(), engines, Instant.EPOCH);
    }

    @Test
    void eachFamilyHasItsHelpAndTypeOnceThenOneSamplePerEngineInOrder() {
        EngineMetrics busy = new EngineMetrics(3, 1, 512, 16, 128, 40, 900, 5_000, 1_234, 2, 60, 45, 7);
        EngineMetrics idle = new EngineMetrics(0, 0, 64, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        String text = MetricsRoutes.render(List.of(worker("w-2", Map.of("tiny", idle)),
                worker("w-1", Map.of("tiny", busy, "alpha", idle)), worker("w-3", Map.of()))).toString();
        List<String> lines = text.lines().toList();
        assertEquals(List.of(
                "# HELP weir_worker_info A live worker (1), with the kernel backend and device it runs on.",
                "# TYPE weir_worker_info gauge",
                "weir_worker_info{worker=\"w-1\",backend=\"cpu\",device=\"2 CPUs\"} 1",
                "weir_worker_info{worker=\"w-2\",backend=\"cpu\",device=\"2 CPUs\"} 1",
                "weir_worker_info{worker=\"w-3\",backend=\"cpu\",device=\"2 CPUs\"} 1",
                "# HELP weir_num_requests_running Sequences in the engine's running batch.",
                "# TYPE weir_num_requests_running gauge",
                "weir_num_requests_running{worker=\"w-1\",model_endpoint=\"alpha\"} 0",
                "weir_num_requests_running{worker=\"w-1\",model_endpoint=\"tiny\"} 3",
                "weir_num_requests_running{worker=\"w-2\",model_endpoint=\"tiny\"} 0"), lines.subList(0, 10));
        assertTrue(lines.contains("weir_kv_cache_usage_ratio{worker=\"w-1\",model_endpoint=\"tiny\"} 0.25"), text);
        assertTrue(lines.contains("weir_kv_cache_block_size{worker=\"w-1\",model_endpoint=\"tiny\"} 16"), text);
        assertTrue(lines.contains("# TYPE weir_prefix_cache_hits_total counter"), text);
        assertTrue(lines.contains("weir_prefix_cache_hits_total{worker=\"w-1\",model_endpoint=\"tiny\"} 45"), text);
        assertTrue(lines.contains("weir_prefix_cache_queries_total{worker=\"w-1\",model_endpoint=\"tiny\"} 60"), text);
        assertTrue(lines.contains("weir_generation_tokens_total{worker=\"w-1\",model_endpoint=\"tiny\"} 1234"), text);
        assertTrue(lines.contains("weir_prompt_tokens_total{worker=\"w-1\",model_endpoint=\"tiny\"} 5000"), text);
        assertTrue(lines.contains("weir_num_preemptions_total{worker=\"w-1\",model_endpoint=\"tiny\"} 2"), text);
        assertTrue(lines.contains("weir_kv_cache_usage_ratio{worker=\"w-2\",model_endpoint=\"tiny\"} 0"), text);
        for (String line : lines) {
            if (line.startsWith("# TYPE ")) {
                String name = line.split(" ")[2];
                assertEquals(1, lines.stream().filter(l -> l.startsWith("# TYPE " + name + " ")).count(), name);
                assertEquals(name.endsWith("_total"), line.endsWith(" counter"), "counters and only counters end in _total: " + line);
            } else if (!line.startsWith("# HELP ")) {
                assertTrue(line.matches("weir_[a-z_]+\\{[^}]*} [0-9.]+"), "a sample line: " + line);
            }
        }
    }

    @Test
    void labelValuesAreEscapedAndNoWorkersGiveOnlyTheFamilies() {
        String text = MetricsRoutes.render(List.of(new WorkerInfo("w\"1\\\n", "cuda", "NVIDIA H100", 0, 1, List.of(),
                Map.of(), null, Instant.EPOCH))).toString();
        assertTrue(text.contains("weir_worker_info{worker=\"w\\\"1\\\\\\n\",backend=\"cuda\",device=\"NVIDIA H100\"} 1\n"), text);
        String empty = MetricsRoutes.render(List.of()).toString();
        assertTrue(empty.lines().allMatch(l -> l.startsWith("# ")), empty);
        assertEquals(2 * 14, empty.lines().count(), empty); // HELP and TYPE of the info family and 13 engine families
    }
}

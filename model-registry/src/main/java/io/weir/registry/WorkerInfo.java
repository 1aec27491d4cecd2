package io.weir.registry;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A live worker as it announces itself in its heartbeats.
 *
 * @param backend   "cpu" or "cuda": the kernel library backend it runs
 * @param device    what it runs on, e.g. "2 CPUs" or "NVIDIA H100"
 * @param memoryBytes memory of its device (system memory for the CPU backend)
 * @param maxModels how many endpoints it may serve at once
 * @param models    endpoint names it has loaded and serves
 * @param load      per endpoint it serves: requests running or waiting in its engine now
 * @param engines   per endpoint it serves: its engine's counters (empty from a worker that announces none)
 */
public record WorkerInfo(String workerId, String backend, String device, long memoryBytes, int maxModels, List<String> models,
                         Map<String, Integer> load, Map<String, EngineMetrics> engines, Instant heartbeatAt) {
    public WorkerInfo {
        engines = engines == null ? Map.of() : Map.copyOf(engines);
    }
}

package io.weir.registry;

import java.time.Instant;
import java.util.List;

/**
 * A live worker as it announces itself in its heartbeats.
 *
 * @param backend "cpu" or "cuda": the kernel library backend it runs
 * @param device  what it runs on, e.g. "2 CPU threads (avx512f)" or "NVIDIA H100"
 * @param models  endpoint names it has loaded and serves
 */
public record WorkerInfo(String workerId, String backend, String device, List<String> models, Instant heartbeatAt) {
}

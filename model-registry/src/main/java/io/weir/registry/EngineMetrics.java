package io.weir.registry;

/**
 * One engine's counters and gauges as its worker announces them in each heartbeat, for the gateways' {@code /metrics}
 * (any gateway reads every worker's from the directory). Counters only grow while the worker lives; a restarted worker
 * starts again from zero, which Prometheus' rate() treats as a counter reset.
 *
 * @param running          sequences in the running batch now
 * @param waiting          requests waiting to be admitted now (new, or preempted and waiting for room)
 * @param kvBlocksTotal    blocks in the KV cache
 * @param kvBlockSize      positions per block (a prefix-cache hit saves this many prompt tokens)
 * @param kvBlocksUsed     blocks some sequence holds now
 * @param kvBlocksCached   unused blocks that still hold a prompt prefix, reusable until evicted
 * @param steps            forward steps run
 * @param promptTokens     prompt tokens computed (recomputed ones after a preemption included; prefix-cache hits not)
 * @param generationTokens tokens sampled
 * @param preemptions      sequences that gave their KV blocks back and were recomputed later
 * @param prefixQueries    full prompt blocks looked up in the prefix cache
 * @param prefixHits       of those, blocks found (not recomputed)
 * @param kvEvictions      cached prefix blocks reused for other content
 */
public record EngineMetrics(int running, int waiting, int kvBlocksTotal, int kvBlockSize, int kvBlocksUsed,
                            int kvBlocksCached, long steps, long promptTokens, long generationTokens, long preemptions,
                            long prefixQueries, long prefixHits, long kvEvictions) {
}

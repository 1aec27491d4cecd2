package io.weir.worker.engine;

import io.weir.worker.kvcache.KvCacheStats;

/**
 * What an engine has done so far, and its KV cache now. Counters only grow.
 *
 * @param running        sequences in the running batch
 * @param waiting        requests waiting to be admitted (new or preempted)
 * @param steps          forward steps run
 * @param promptTokens   prompt (and recomputed) tokens fed through the model
 * @param sampledTokens  tokens sampled
 * @param preemptions    sequences that gave their KV blocks back to make room and were recomputed later
 * @param forwardNanos   time spent in the kernel library's forward passes
 * @param stepNanos      time spent in steps (forward, sampling, events)
 * @param kvCache        block usage and prefix-cache hits
 */
public record EngineStats(int running, int waiting, long steps, long promptTokens, long sampledTokens, long preemptions,
                          long forwardNanos, long stepNanos, KvCacheStats kvCache) {
}

package io.weir.worker.kvcache;

/**
 * A snapshot of the KV cache's blocks and the prefix cache's effect.
 *
 * @param totalBlocks       blocks in the pool
 * @param blockSize         positions per block
 * @param usedBlocks        blocks some sequence holds (reference count above zero)
 * @param cachedBlocks      unused blocks that still hold a full block of some prefix, reusable until evicted
 * @param prefixQueries     full prompt blocks looked up in the prefix cache at admission
 * @param prefixHits        of those, blocks found (their keys and values were not recomputed)
 * @param evictions         cached blocks reused for other content
 */
public record KvCacheStats(int totalBlocks, int blockSize, int usedBlocks, int cachedBlocks, long prefixQueries,
                           long prefixHits, long evictions) {

    /** Blocks a new allocation can take: never used, or cached but unused. */
    public int freeBlocks() {
        return totalBlocks - usedBlocks;
    }
}

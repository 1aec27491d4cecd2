package io.weir.worker.kvcache;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * Allocation, reference counting and prefix sharing of the KV cache's blocks.
 *
 * <p>Every block is in exactly one state: <em>free</em> (on the free stack), <em>used</em> (held by one or
 * more sequences; reference count above zero) or <em>cached</em> (unused, but still holding the keys and
 * values of a full block some sequence computed, findable by content). A full block's content key is the hash
 * of all tokens from the start of the sequence up to the end of that block, chained block by block, so a hit
 * means the whole prefix matches; the block's own tokens and its parent's hash are kept to rule out hash
 * collisions. Cached blocks are evicted oldest first when no free block is left.
 *
 * <p>Blocks are only ever written at positions past a sequence's shared prefix, so a shared block is never
 * written: a sequence matches at most the full blocks before its last prompt token, whose logits it needs.
 *
 * <p>Engine thread only, except {@link #stats()}, which any thread may call.
 */
public final class BlockManager {
    static final long ROOT_HASH = 0x6a09e667f3bcc908L;

    private record CachedBlock(int block, long parentHash, int[] tokens) {
        boolean holds(long parent, int[] all, int from, int blockSize) {
            return parent == parentHash && Arrays.equals(tokens, 0, blockSize, all, from, from + blockSize);
        }
    }

    private final int nBlocks;
    private final int blockSize;
    private final int[] refs;
    private final long[] keyOf;              // the content key of a cached or registered block
    private final boolean[] keyed;           // whether keyOf is set (the block is in `byKey`)
    private final int[] freeStack;
    private int freeTop;
    private final LinkedHashSet<Integer> cachedLru = new LinkedHashSet<>(); // cached blocks, oldest first
    private final Map<Long, CachedBlock> byKey = new HashMap<>();
    private volatile KvCacheStats stats;
    private int used;
    private long prefixQueries, prefixHits, evictions;

    public BlockManager(int nBlocks, int blockSize) {
        if (nBlocks <= 0 || blockSize <= 0) throw new IllegalArgumentException("nBlocks and blockSize must be positive");
        this.nBlocks = nBlocks;
        this.blockSize = blockSize;
        this.refs = new int[nBlocks];
        this.keyOf = new long[nBlocks];
        this.keyed = new boolean[nBlocks];
        this.freeStack = new int[nBlocks];
        for (int b = nBlocks - 1; b >= 0; b--) freeStack[freeTop++] = b; // block 0 first
        publish();
    }

    public int blockSize() {
        return blockSize;
    }

    public int totalBlocks() {
        return nBlocks;
    }

    /** Blocks an allocation can take now (free plus cached). */
    public int freeBlocks() {
        return nBlocks - used;
    }

    /** Blocks {@code table} still needs to cover positions {@code 0..lastPosition}. */
    public int blocksNeeded(BlockTable table, int lastPosition) {
        return Math.max(0, lastPosition / blockSize + 1 - table.size());
    }

    /**
     * Extends {@code table} to cover positions {@code 0..lastPosition}. Allocates nothing and returns false when
     * there are not enough blocks.
     */
    public boolean ensure(BlockTable table, int lastPosition) {
        int need = blocksNeeded(table, lastPosition);
        if (need > freeBlocks()) return false;
        for (int i = 0; i < need; i++) table.add(take());
        if (need > 0) publish();
        return true;
    }

    /**
     * Shares the cached blocks of the longest cached prefix of {@code tokens[0..length)} into the empty
     * {@code table}, leaving at least the last token to compute. Returns the positions covered (a multiple of
     * the block size). Counts a query per full block looked at and a hit per block shared.
     */
    public int matchPrefix(BlockTable table, int[] tokens, int length) {
        if (table.size() != 0) throw new IllegalStateException("prefix matching needs an empty block table");
        int candidates = (length - 1) / blockSize;
        long parent = ROOT_HASH;
        int matched = 0;
        while (matched < candidates) {
            long key = chain(parent, tokens, matched * blockSize);
            CachedBlock hit = byKey.get(key);
            if (hit == null || !hit.holds(parent, tokens, matched * blockSize, blockSize)) break;
            acquire(hit.block());
            table.add(hit.block());
            parent = key;
            matched++;
        }
        table.registered = matched;
        table.registeredHash = parent;
        prefixQueries += candidates;
        prefixHits += matched;
        publish();
        return matched * blockSize;
    }

    /**
     * Offers the blocks of {@code table} that {@code filled} positions of {@code tokens} have completed to the
     * prefix cache. A block whose content is already cached under another block stays private (it is freed,
     * not cached, when released).
     */
    public void registerFull(BlockTable table, int[] tokens, int filled) {
        int full = Math.min(filled / blockSize, table.size());
        for (int i = table.registered; i < full; i++) {
            long key = chain(table.registeredHash, tokens, i * blockSize);
            int block = table.get(i);
            if (!byKey.containsKey(key) && !keyed[block]) {
                byKey.put(key, new CachedBlock(block, table.registeredHash,
                        Arrays.copyOfRange(tokens, i * blockSize, (i + 1) * blockSize)));
                keyOf[block] = key;
                keyed[block] = true;
            }
            table.registeredHash = key;
            table.registered = i + 1;
        }
    }

    /** Drops every block of {@code table} (the sequence finished, failed or was preempted) and empties it. */
    public void release(BlockTable table) {
        for (int i = 0; i < table.size(); i++) {
            int b = table.get(i);
            if (refs[b] <= 0) throw new IllegalStateException("block " + b + " released more often than taken");
            if (--refs[b] == 0) {
                used--;
                if (keyed[b]) cachedLru.add(b);
                else freeStack[freeTop++] = b;
            }
        }
        table.clear();
        publish();
    }

    public KvCacheStats stats() {
        return stats;
    }

    private int take() {
        int b;
        if (freeTop > 0) {
            b = freeStack[--freeTop];
        } else {
            var oldest = cachedLru.iterator();
            b = oldest.next();
            oldest.remove();
            byKey.remove(keyOf[b]);
            keyed[b] = false;
            evictions++;
        }
        refs[b] = 1;
        used++;
        return b;
    }

    private void acquire(int b) {
        if (refs[b]++ == 0) {
            cachedLru.remove(b);
            used++;
        }
    }

    private void publish() {
        stats = new KvCacheStats(nBlocks, blockSize, used, cachedLru.size(), prefixQueries, prefixHits, evictions);
    }

    /** The content key of the block of {@code tokens} starting at {@code from}, after the prefix keyed {@code parent}. */
    private long chain(long parent, int[] tokens, int from) {
        long h = parent;
        for (int i = from; i < from + blockSize; i++) h = mix(h ^ (tokens[i] & 0xffffffffL));
        return h;
    }

    private static long mix(long z) { // SplitMix64's finalizer
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}

package io.weir.worker.tokenizer;

import java.util.Arrays;

/**
 * The BPE merge table: (left id, right id) to rank (its line in {@code merges}, lower merges
 * first) and the id of the merged token. An open-addressing hash on primitive longs, because the
 * merge loop looks pairs up on every step.
 */
final class MergeRanks {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int mask;
    private final int[] mergedIdByRank;

    MergeRanks(int capacity) {
        int slots = Integer.highestOneBit(Math.max(4, capacity * 2 - 1)) << 1;
        keys = new long[slots];
        Arrays.fill(keys, EMPTY);
        ranks = new int[slots];
        mask = slots - 1;
        mergedIdByRank = new int[capacity];
    }

    /** Records the merge of line {@code rank}; a pair listed twice keeps its last rank, as in the Rust library. */
    void put(int left, int right, int rank, int mergedId) {
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != EMPTY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        ranks[slot] = rank;
        mergedIdByRank[rank] = mergedId;
    }

    /** The rank of merging {@code left} with {@code right}, or -1 if they do not merge. */
    int rank(int left, int right) {
        long key = key(left, right);
        for (int slot = slot(key); keys[slot] != EMPTY; slot = (slot + 1) & mask) {
            if (keys[slot] == key) {
                return ranks[slot];
            }
        }
        return -1;
    }

    int mergedId(int rank) {
        return mergedIdByRank[rank];
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }
}

package io.weir.worker.tokenizer;

import java.util.Arrays;

/**
 * The BPE merge candidates: a binary min-heap of (merge rank, symbol position) packed into
 * longs, so the lowest rank comes first and, among equal ranks, the leftmost pair.
 */
final class PairQueue {
    private long[] heap;
    private int size;

    PairQueue(int capacity) {
        heap = new long[Math.max(4, capacity)];
    }

    static int rank(long entry) {
        return (int) (entry >>> 32);
    }

    static int position(long entry) {
        return (int) entry;
    }

    /** Queues the pair at {@code position} if it merges ({@code rank >= 0}). */
    void offer(int rank, int position) {
        if (rank < 0) {
            return;
        }
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        long entry = ((long) rank << 32) | position;
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= entry) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = entry;
    }

    boolean isEmpty() {
        return size == 0;
    }

    long poll() {
        long top = heap[0];
        long last = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[child] >= last) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
        return top;
    }
}

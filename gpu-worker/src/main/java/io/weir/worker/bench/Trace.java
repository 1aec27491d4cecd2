package io.weir.worker.bench;

import java.util.Arrays;

/** When one request was sent and when each of its tokens arrived (System.nanoTime). Filled by one thread at a time. */
final class Trace {
    final long submitted;
    private long[] tokens = new long[64];
    private int count;
    private volatile String error;

    Trace(long submitted) {
        this.submitted = submitted;
    }

    synchronized void token(long at) {
        if (count == tokens.length) tokens = Arrays.copyOf(tokens, count * 2);
        tokens[count++] = at;
    }

    void fail(String why) {
        error = why;
    }

    String error() {
        return error;
    }

    synchronized int count() {
        return count;
    }

    synchronized long tokenAt(int i) {
        return tokens[i];
    }

    /** Time to first token, ns. */
    synchronized long ttft() {
        return tokens[0] - submitted;
    }

    synchronized long last() {
        return tokens[count - 1];
    }
}

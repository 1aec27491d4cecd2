package io.weir.gateway.metrics;

import java.util.Arrays;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus histogram of durations in seconds, recorded from any thread without locks (the gateway's event loops
 * record into the same one).
 */
public final class LatencyHistogram {
    /** Upper bounds in seconds, vLLM's for time to first token: from a millisecond to ~40 minutes. */
    public static final double[] FIRST_TOKEN_BOUNDS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
            0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    /** Upper bounds in seconds, vLLM's for the time between two tokens. */
    public static final double[] INTER_TOKEN_BOUNDS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
            1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    /** Upper bounds in seconds, vLLM's for a whole request. */
    public static final double[] REQUEST_BOUNDS = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
            40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    /** Counts at one moment: cumulative per bound, then all ({@code +Inf}); the sum of the durations in seconds. */
    public record Snapshot(double[] bounds, long[] cumulative, double sum) {
        public long count() {
            return cumulative[cumulative.length - 1];
        }
    }

    private final double[] bounds;
    private final LongAdder[] counts; // per bucket, the last one above every bound
    private final DoubleAdder sum = new DoubleAdder();

    public LatencyHistogram(double[] bounds) {
        this.bounds = bounds.clone();
        this.counts = new LongAdder[bounds.length + 1];
        Arrays.setAll(counts, i -> new LongAdder());
    }

    public void record(long nanos) {
        double seconds = nanos / 1e9;
        int bucket = Arrays.binarySearch(bounds, seconds);
        counts[bucket >= 0 ? bucket : -bucket - 1].increment(); // a value equal to a bound is in that bound's bucket
        sum.add(seconds);
    }

    public Snapshot snapshot() {
        long[] cumulative = new long[counts.length];
        long running = 0;
        for (int i = 0; i < counts.length; i++) {
            running += counts[i].sum();
            cumulative[i] = running;
        }
        return new Snapshot(bounds, cumulative, sum.sum());
    }
}

package io.weir.worker.bench;

import java.util.Arrays;

/** The median and best of repeated measurements (best = highest for rates, lowest for latencies). */
record Stat(double median, double best) {

    static Stat ofRates(double[] values) {
        return new Stat(RunResult.percentile(values, 50), Arrays.stream(values).max().orElseThrow());
    }

    static Stat ofLatencies(double[] values) {
        return new Stat(RunResult.percentile(values, 50), Arrays.stream(values).min().orElseThrow());
    }
}

package io.weir.worker.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The traces of one load run (every stream started at once) and what follows from them.
 *
 * @param cpuByThreads CPU time the process used during the run, per group of threads ({@link ThreadCpu}: engine,
 *                     Kafka, gateway, clients, the kernel pool's native threads)
 */
record RunResult(List<Trace> traces, Map<String, Long> cpuByThreads) {

    RunResult {
        for (Trace t : traces) {
            if (t.error() != null) throw new IllegalStateException("a bench request failed: " + t.error());
            if (t.count() == 0) throw new IllegalStateException("a bench request produced no token");
        }
    }

    /** Process CPU milliseconds per generated token. */
    double cpuMillisPerToken() {
        return cpuByThreads.values().stream().mapToLong(Long::longValue).sum() / 1e6 / tokens();
    }

    /** CPU milliseconds per generated token of one group of threads (0 if it did not run). */
    double cpuMillisPerToken(String threads) {
        return cpuByThreads.getOrDefault(threads, 0L) / 1e6 / tokens();
    }

    /** The process's CPU time so far (all threads). */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    long tokens() {
        return traces.stream().mapToLong(Trace::count).sum();
    }

    /** Tokens per second over the whole run: all tokens / (last token - first submit). */
    double aggregateTokensPerSecond() {
        long start = traces.stream().mapToLong(t -> t.submitted).min().orElseThrow();
        long end = traces.stream().mapToLong(Trace::last).max().orElseThrow();
        return tokens() / ((end - start) / 1e9);
    }

    /** Single stream: tokens after the first / time from first to last (the decode rate, prefill excluded). */
    double decodeTokensPerSecond() {
        Trace t = traces.getFirst();
        return (t.count() - 1) / ((t.last() - t.tokenAt(0)) / 1e9);
    }

    double[] ttftMillis() {
        return traces.stream().mapToDouble(t -> t.ttft() / 1e6).toArray();
    }

    double[] interTokenMillis() {
        List<Double> gaps = new ArrayList<>();
        for (Trace t : traces) {
            for (int i = 1; i < t.count(); i++) gaps.add((t.tokenAt(i) - t.tokenAt(i - 1)) / 1e6);
        }
        return gaps.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Nearest-rank percentile (p in 0..100) of {@code values}. */
    static double percentile(double[] values, double p) {
        double[] v = values.clone();
        Arrays.sort(v);
        int rank = (int) Math.ceil(p / 100.0 * v.length);
        return v[Math.max(0, Math.min(v.length - 1, rank - 1))];
    }
}

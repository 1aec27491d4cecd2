package io.weir.bench;

import io.weir.worker.engine.EngineSettings;
import io.weir.worker.engine.EngineStats;
import io.weir.worker.engine.LoadedModel;
import io.weir.worker.kernels.BackendSelector;
import io.weir.worker.kernels.KernelLibrary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * {@code weir bench}: the machine's ceilings first, then, per model shape, batch-1 decode, prefill and a
 * concurrency sweep in-process, the same through HTTP + Kafka, and peak RSS; each rate beside its roofline:
 * <ul>
 *   <li>batch-1 decode: read bandwidth / weight bytes (every weight is read once per token);</li>
 *   <li>prefill: peak FMA rate / (2 x parameters);</li>
 *   <li>N streams: min(N x bandwidth / weight bytes, peak / (2 x parameters)).</li>
 * </ul>
 * The KV cache's traffic is left out of the rooflines, so they are upper bounds. The machine may be shared:
 * every figure is the median and the best of {@code --reps} runs.
 */
public final class Bench {
    private final BenchOptions options;
    private final KernelLibrary library;
    private final Report report = new Report();
    private final List<String> verdicts = new ArrayList<>();
    private Stat fmaPeak;

    private Bench(BenchOptions options) {
        this.options = options;
        this.library = BackendSelector.select();
    }

    public static void main(String[] args) {
        if (args.length > 0 && List.of("--help", "-h", "help").contains(args[0])) {
            System.out.print(BenchOptions.USAGE);
            return;
        }
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("weir bench: " + e.getMessage());
            System.err.print(BenchOptions.USAGE);
            System.exit(2);
            return;
        }
        try {
            new Bench(options).run();
            System.exit(0); // non-daemon threads of the stack's clients must not keep the JVM alive
        } catch (Exception e) {
            System.err.println("weir bench failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    private void run() throws Exception {
        long t0 = System.nanoTime();
        System.out.printf("backend: %s; %d CPUs; weights %s; reps %d%n", library.info(), Runtime.getRuntime().availableProcessors(),
                options.storage(), options.reps());
        fmaPeak = Stat.ofRates(repeat(3, () -> library.fmaPeak(400)));
        report.rate("machine", "peak FP32 FMA rate", fmaPeak, 0, "GFLOP/s");
        for (Shape shape : options.shapes()) {
            runShape(shape);
        }
        String table = report.markdown();
        System.out.println();
        System.out.println(table);
        verdicts.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "%nbench took %.0f s%n", (System.nanoTime() - t0) / 1e9);
        if (options.markdown() != null) {
            Files.writeString(options.markdown(), table + "\n" + String.join("\n", verdicts) + "\n");
        }
    }

    private void runShape(Shape shape) throws Exception {
        String name = shape.label();
        Path checkpoint = BenchModels.checkpoint(options.data(), shape);
        long params = shape.parameters();
        long weightBytes = params * options.storage().bytes();
        Stat bandwidth = Stat.ofRates(repeat(options.reps(), () -> library.readBandwidth(weightBytes, 3)));
        report.rate(name, String.format(Locale.ROOT, "read bandwidth over %d MB", weightBytes >> 20), bandwidth, 0, "GB/s");
        double b1Roof = bandwidth.median() * 1e9 / weightBytes;
        double computeRoof = fmaPeak.median() * 1e9 / (2.0 * params);
        int tokens = options.tokensFor(shape);
        EngineSettings settings = EngineSettings.defaults(options.maxStreams()).withMaxBatchTokens(options.maxBatchTokens())
                .withStorage(options.storage());

        double inProcessAt = 0;
        int comparedStreams = 0;
        try (LoadedModel model = LoadedModel.load(name, checkpoint, settings);
                InProcessDriver engine = new InProcessDriver(model)) {
            engine.run(prompts(1, options.promptTokens()), 8); // warm-up
            Stat decode = measure(engine, 1, tokens, RunResult::decodeTokensPerSecond);
            report.rate(name, "batch-1 decode", decode, b1Roof, "tok/s");
            verdicts.add(String.format(Locale.ROOT, "%s batch-1 decode: %.0f%% of the bandwidth roofline (median; target 90%%)",
                    name, 100 * decode.median() / b1Roof));

            int prefillLength = Math.min(model.runner().maxSeqLen() - 2, 512);
            Stat prefill = measureRuns(engine, 1, prefillLength, 1, r -> prefillLength / (r.traces().getFirst().ttft() / 1e9));
            report.rate(name, "prefill (" + prefillLength + "-token prompt)", prefill, computeRoof, "tok/s");

            for (int n : options.streams()) {
                List<RunResult> runs = runs(engine, n, options.promptTokens(), tokens);
                Stat agg = Stat.ofRates(runs.stream().mapToDouble(RunResult::aggregateTokensPerSecond).toArray());
                report.rate(name, n + " streams, in-process", agg, Math.min(n * b1Roof, computeRoof), "tok/s");
                latencies(name, n + " streams, in-process", runs);
                if (n == 32 || comparedStreams == 0) {
                    inProcessAt = agg.median();
                    comparedStreams = n;
                }
            }
            EngineStats stats = engine.stats();
            report.note(name, "engine", String.format(Locale.ROOT, "%d steps, %d preemptions, %d/%d KV blocks used at the end",
                    stats.steps(), stats.preemptions(), stats.kvCache().usedBlocks(), stats.kvCache().totalBlocks()));
        }

        if (options.stackStreams().length > 0) {
            try (StackDriver stack = new StackDriver(name, checkpoint, options, options.maxStreams())) {
                stack.run(prompts(1, options.promptTokens()), 8); // warm-up
                for (int n : options.stackStreams()) {
                    List<RunResult> runs = runs(stack, n, options.promptTokens(), tokens);
                    Stat agg = Stat.ofRates(runs.stream().mapToDouble(RunResult::aggregateTokensPerSecond).toArray());
                    report.rate(name, n + " streams, HTTP + Kafka", agg, Math.min(n * b1Roof, computeRoof), "tok/s");
                    latencies(name, n + " streams, HTTP + Kafka", runs);
                    if (n == comparedStreams) {
                        verdicts.add(String.format(Locale.ROOT,
                                "%s %d streams: full stack at %.1f%% of in-process throughput (median; target >= 95%%)", name, n,
                                100 * agg.median() / inProcessAt));
                    }
                }
            }
        }
        report.note(name, "peak RSS of the bench process so far", peakRss());
    }

    private void latencies(String name, String what, List<RunResult> runs) {
        double[] ttft = runs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.ttftMillis())).toArray();
        double[] itl = runs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.interTokenMillis())).toArray();
        report.latency(name, what + ": TTFT", RunResult.percentile(ttft, 50), RunResult.percentile(ttft, 99));
        if (itl.length > 0) {
            report.latency(name, what + ": inter-token", RunResult.percentile(itl, 50), RunResult.percentile(itl, 99));
        }
    }

    private Stat measure(LoadDriver driver, int streams, int tokens, ToDoubleFunction<RunResult> metric) throws Exception {
        return measureRuns(driver, streams, options.promptTokens(), tokens, metric);
    }

    private Stat measureRuns(LoadDriver driver, int streams, int promptTokens, int tokens, ToDoubleFunction<RunResult> metric)
            throws Exception {
        return Stat.ofRates(runs(driver, streams, promptTokens, tokens).stream().mapToDouble(metric).toArray());
    }

    private List<RunResult> runs(LoadDriver driver, int streams, int promptTokens, int tokens) throws Exception {
        List<RunResult> out = new ArrayList<>();
        for (int r = 0; r < options.reps(); r++) {
            out.add(driver.run(prompts(streams, promptTokens), tokens));
        }
        return out;
    }

    private int promptSerial;

    /**
     * {@code n} distinct prompts of about {@code length} tokens (the random checkpoints' tokenizer spends one token per
     * byte, plus BOS). Each starts with its own serial number, so no two share a cached prefix block.
     */
    private List<String> prompts(int n, int length) {
        List<String> out = new ArrayList<>();
        String filler = "Once upon a time, in a land far away, there lived a curious little fox who loved stories. ";
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%06d ", promptSerial++));
            while (sb.length() < length - 1) sb.append(filler);
            out.add(sb.substring(0, Math.max(1, length - 1)));
        }
        return out;
    }

    private interface Measurement {
        double get() throws Exception;
    }

    private static double[] repeat(int n, Measurement m) throws Exception {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = m.get();
        return out;
    }

    private static String peakRss() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                return String.format(Locale.ROOT, "%.0f MiB", kb / 1024.0);
            }
        }
        return "unknown";
    }
}

package io.weir.worker.bench;

import io.weir.worker.engine.EngineSettings;
import io.weir.worker.engine.EngineStats;
import io.weir.worker.engine.LoadedModel;
import io.weir.worker.kernels.BackendSelector;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.WeightStorage;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * {@code weir bench}: the machine's ceilings first, then, per model shape, batch-1 decode, prefill and a
 * concurrency sweep in-process, the same through HTTP + Kafka, and peak RSS; each rate beside its roofline:
 * <ul>
 *   <li>batch-1 decode: read bandwidth / weight bytes (every weight is read once per token);</li>
 *   <li>prefill: peak FMA rate / (2 x parameters in matrix products, the classifier excluded: prompt tokens
 *       but the last compute no logits);</li>
 *   <li>N streams: min(N x bandwidth / weight bytes, peak / (2 x parameters)).</li>
 * </ul>
 * The KV cache's traffic is left out of the rooflines, so they are upper bounds. The machine may be shared:
 * every figure is the median and the best of {@code --reps} runs.
 */
public final class Bench {
    /** The JIT share of a round's wall time below which the JVM counts as warm. */
    private static final double WARM_JIT_SHARE = 0.05;

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

    /**
     * One shape: every measurement is repeated {@code --reps} times in rounds, each round running all of them back
     * to back (bandwidth, llama2.c, batch-1 decode, prefill, then each concurrency in-process and through the stack),
     * so figures compared as ratios were taken under the same load. Ratios are computed per round; their median and
     * best are reported.
     */
    private void runShape(Shape shape) throws Exception {
        String name = shape.label();
        Path checkpoint = BenchModels.checkpoint(options.data(), shape);
        long weightBytes = shape.matmulParameters() * options.storage().bytes();
        double computeRoof = fmaPeak.median() * 1e9 / (2.0 * shape.matmulParameters());
        double prefillRoof = fmaPeak.median() * 1e9 / (2.0 * shape.prefillParameters());
        int tokens = options.tokensFor(shape);
        int reps = options.reps();
        EngineSettings settings = EngineSettings.defaults(options.maxStreams()).withMaxBatchTokens(options.maxBatchTokens())
                .withStorage(options.storage()).withKvDtype(options.kvDtype());
        Path llama2cModel = options.llama2c() != null ? Llama2cBaseline.export(checkpoint, shape) : null;

        double[] bandwidth = new double[reps], llama2c = new double[reps], decode = new double[reps], prefill = new double[reps];
        List<AttentionCase> attentionCases = attentionCases(shape, tokens);
        double[][][] attention = new double[attentionCases.size()][KvDtype.values().length][reps];
        int[] streams = options.streams();
        double[][] inProcess = new double[streams.length][reps], stack = new double[streams.length][reps];
        List<List<RunResult>> inRuns = new ArrayList<>(), stackRuns = new ArrayList<>();
        for (int i = 0; i < streams.length; i++) {
            inRuns.add(new ArrayList<>());
            stackRuns.add(new ArrayList<>());
        }
        EngineStats stats;
        try (LoadedModel model = LoadedModel.load(name, checkpoint, settings);
                InProcessDriver engine = new InProcessDriver(model);
                StackDriver http = options.stackStreams().length > 0
                        ? new StackDriver(name, checkpoint, options, options.maxStreams()) : null) {
            int prefillLength = prefillLength(shape);
            warmUp(engine, http, tokens);
            for (int r = 0; r < reps; r++) {
                bandwidth[r] = library.readBandwidth(weightBytes, 3);
                if (library.name().equals("cpu")) attentionAlone(shape, attentionCases, attention, r);
                if (llama2cModel != null) {
                    llama2c[r] = Llama2cBaseline.run(options.llama2c(), llama2cModel, Math.min(shape.spec().maxSeqLen(), 256),
                            Llama2cBaseline.threads(), options.llama2cTokenizer());
                }
                decode[r] = engine.run(prompts(1, options.promptTokens()), tokens).decodeTokensPerSecond();
                prefill[r] = prefillLength / (engine.run(prompts(1, prefillLength), 1).traces().getFirst().ttft() / 1e9);
                for (int i = 0; i < streams.length; i++) {
                    RunResult in = engine.run(prompts(streams[i], options.promptTokens()), tokens);
                    inRuns.get(i).add(in);
                    inProcess[i][r] = in.aggregateTokensPerSecond();
                    if (http != null && contains(options.stackStreams(), streams[i])) {
                        RunResult st = http.run(prompts(streams[i], options.promptTokens()), tokens);
                        stackRuns.get(i).add(st);
                        stack[i][r] = st.aggregateTokensPerSecond();
                    }
                }
            }
            stats = engine.stats();
        }

        Stat bw = Stat.ofRates(bandwidth);
        double b1Roof = bw.median() * 1e9 / weightBytes;
        report.rate(name, String.format(Locale.ROOT, "read bandwidth over %d MB", weightBytes >> 20), bw, 0, "GB/s");
        if (llama2cModel != null) {
            // llama2.c reads f32 weights: its roofline is ours only when we store f32 too
            report.rate(name, "llama2.c run.c batch-1 decode, f32 (" + Llama2cBaseline.threads() + " threads)",
                    Stat.ofRates(llama2c), options.storage() == WeightStorage.F32 ? b1Roof : 0, "tok/s");
        }
        reportAttention(name, attentionCases, attention);
        Stat dec = Stat.ofRates(decode);
        report.rate(name, "batch-1 decode", dec, b1Roof, "tok/s");
        report.rate(name, "prefill (prompt of " + prefillLength(shape) + " tokens)",
                Stat.ofRates(prefill), prefillRoof, "tok/s");
        Stat roofShare = Stat.ofRates(ratios(decode, divide(bandwidth, weightBytes / 1e9)));
        verdicts.add(String.format(Locale.ROOT, "%s batch-1 decode: %.0f%% of the bandwidth roofline (median of per-round "
                + "ratios; best %.0f%%; target 90%%)", name, 100 * roofShare.median(), 100 * roofShare.best()));
        if (llama2cModel != null) {
            Stat vs = Stat.ofRates(ratios(decode, llama2c));
            verdicts.add(String.format(Locale.ROOT, "%s batch-1 decode: %.2fx llama2.c (median of per-round ratios; best %.2fx)",
                    name, vs.median(), vs.best()));
        }
        for (int i = 0; i < streams.length; i++) {
            int n = streams[i];
            double roof = Math.min(n * b1Roof, computeRoof);
            report.rate(name, n + " streams, in-process", Stat.ofRates(inProcess[i]), roof, "tok/s");
            latencies(name, n + " streams, in-process", inRuns.get(i));
            if (stackRuns.get(i).isEmpty()) continue;
            report.rate(name, n + " streams, HTTP + Kafka", Stat.ofRates(stack[i]), roof, "tok/s");
            latencies(name, n + " streams, HTTP + Kafka", stackRuns.get(i));
            Stat share = Stat.ofRates(ratios(stack[i], inProcess[i]));
            verdicts.add(String.format(Locale.ROOT, "%s %d streams: HTTP + Kafka at %.0f%% of in-process throughput (median of "
                    + "per-round ratios; best %.0f%%; target >= 95%%)", name, n, 100 * share.median(), 100 * share.best()));
            if (llama2cModel != null) {
                Stat vs = Stat.ofRates(ratios(stack[i], llama2c));
                verdicts.add(String.format(Locale.ROOT, "%s %d streams through HTTP + Kafka: %.1fx llama2.c's single stream "
                        + "(median of per-round ratios; best %.1fx)", name, n, vs.median(), vs.best()));
            }
        }
        report.note(name, "engine", String.format(Locale.ROOT, "%d steps, %d preemptions, %d/%d KV blocks used at the end; "
                + "forward passes %.1f%% of the steps' time (the rest: planning, sampling, detokenizing, events, on the "
                + "engine thread)", stats.steps(), stats.preemptions(), stats.kvCache().usedBlocks(),
                stats.kvCache().totalBlocks(), 100.0 * stats.forwardNanos() / Math.max(1, stats.stepNanos())));
        report.note(name, "peak RSS of the bench process so far (both copies of the model)", peakRss());
    }

    /** The prompt of the prefill measurement: as long as the shape's context allows, at most 512 tokens. */
    private static int prefillLength(Shape shape) {
        return Math.min(shape.spec().maxSeqLen() - 2, 512);
    }

    /** Rows of the attention measurement: the largest concurrency measured, at least 8. */
    private int attentionRows() {
        return Math.max(8, java.util.Arrays.stream(options.streams()).max().orElse(1));
    }

    /** The positions a stream of this run attends over on average: its prompt and half its tokens. */
    private int attentionPositions(int tokens) {
        return options.promptTokens() + tokens / 2;
    }

    /**
     * What attention alone is timed on: {@code rows} sequences of {@code positions} each, queried by the rows at their
     * last {@code queryRows} positions.
     */
    private record AttentionCase(String label, int rows, int positions, int queryRows) {
    }

    /** A decode step of the run's largest concurrency, and the last chunk of the prefill measurement's prompt. */
    private List<AttentionCase> attentionCases(Shape shape, int tokens) {
        int prompt = prefillLength(shape), chunk = Math.min(prompt, options.maxBatchTokens());
        return List.of(
                new AttentionCase(String.format(Locale.ROOT, "decode attention alone, one thread, %d rows of %d positions: "
                        + "ns per position and kv head", attentionRows(), attentionPositions(tokens)), attentionRows(),
                        attentionPositions(tokens), 1),
                new AttentionCase(String.format(Locale.ROOT, "prompt attention alone, one thread, the last %d rows of a "
                        + "%d-token prompt: ns per position a row attends to and kv head", chunk, prompt), 1, prompt, chunk));
    }

    /** Round r of attention alone on one thread, for every case and KV-cache element type. */
    private void attentionAlone(Shape shape, List<AttentionCase> cases, double[][][] nanos, int r) {
        var s = shape.spec();
        for (int c = 0; c < cases.size(); c++) {
            AttentionCase ac = cases.get(c);
            for (KvDtype kv : KvDtype.values())
                nanos[c][kv.ordinal()][r] = library.attentionNanos(kv, ac.rows(), ac.positions(), ac.queryRows(),
                        s.nLayers(), s.nKvHeads(), s.dim() / s.nHeads(), 3);
        }
    }

    private void reportAttention(String name, List<AttentionCase> cases, double[][][] nanos) {
        if (!library.name().equals("cpu")) return;
        for (int c = 0; c < cases.size(); c++) {
            StringBuilder line = new StringBuilder();
            for (KvDtype kv : KvDtype.values()) {
                Stat st = Stat.ofRates(nanos[c][kv.ordinal()]);
                line.append(String.format(Locale.ROOT, "%s%s %.1f", line.isEmpty() ? "" : ", ",
                        kv.name().toLowerCase(Locale.ROOT), st.median()));
            }
            Stat i8 = Stat.ofRates(ratios(nanos[c][KvDtype.BF16.ordinal()], nanos[c][KvDtype.INT8.ordinal()]));
            report.note(name, String.format(Locale.ROOT, "%s (median; int8 cache %.2fx bf16's speed, best %.2fx)",
                    cases.get(c).label(), i8.median(), i8.best()), line.toString());
        }
    }

    private static boolean contains(int[] values, int v) {
        for (int x : values) if (x == v) return true;
        return false;
    }

    private static double[] ratios(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] / b[i];
        return out;
    }

    private static double[] divide(double[] a, double by) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] / by;
        return out;
    }

    private void latencies(String name, String what, List<RunResult> runs) {
        if (runs.isEmpty()) return;
        double[] cpu = runs.stream().mapToDouble(RunResult::cpuMillisPerToken).toArray();
        report.note(name, what + ": process CPU per token", String.format(Locale.ROOT, "%.2f ms (median)",
                RunResult.percentile(cpu, 50)));
        report.note(name, what + ": CPU per token by threads (ms, median)", cpuByThreads(runs));
        double[] ttft = runs.stream().flatMapToDouble(r -> Arrays.stream(r.ttftMillis())).toArray();
        double[] itl = runs.stream().flatMapToDouble(r -> Arrays.stream(r.interTokenMillis())).toArray();
        report.latency(name, what + ": TTFT", RunResult.percentile(ttft, 50), RunResult.percentile(ttft, 99));
        if (itl.length > 0) {
            report.latency(name, what + ": inter-token", RunResult.percentile(itl, 50), RunResult.percentile(itl, 99));
        }
    }

    /** The groups of threads that used the most CPU per token in {@code runs} (medians), busiest first. */
    private static String cpuByThreads(List<RunResult> runs) {
        Map<String, Double> median = new HashMap<>();
        runs.stream().flatMap(r -> r.cpuByThreads().keySet().stream()).distinct().forEach(group -> median.put(group,
                RunResult.percentile(runs.stream().mapToDouble(r -> r.cpuMillisPerToken(group)).toArray(), 50)));
        List<Map.Entry<String, Double>> top = median.entrySet().stream()
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).toList();
        StringBuilder out = new StringBuilder();
        double rest = 0;
        for (int i = 0; i < top.size(); i++) {
            if (i < 8) {
                out.append(i == 0 ? "" : ", ").append(top.get(i).getKey().replace("|", "/"))
                        .append(String.format(Locale.ROOT, " %.3f", top.get(i).getValue()));
            } else {
                rest += top.get(i).getValue();
            }
        }
        return out.append(String.format(Locale.ROOT, ", all others %.3f", rest)).toString();
    }

    /**
     * Runs the busiest load of the bench, in-process and through the stack, until the JIT compilers are quiet (under 5%
     * of a round's wall time) or {@code --warmup} seconds have passed: the stack's broker, clients and HTTP paths
     * otherwise compile during the measured rounds and take CPU from the engine, which a server running for hours never
     * sees. With a Kafka broker, Hazelcast and Vert.x in one JVM, C2 keeps compiling for minutes.
     */
    private void warmUp(InProcessDriver engine, StackDriver http, int tokens) throws Exception {
        int inStreams = Arrays.stream(options.streams()).max().orElse(1);
        int stackStreams = Arrays.stream(options.stackStreams()).max().orElse(1);
        var jit = ManagementFactory.getCompilationMXBean();
        long start = System.nanoTime();
        for (int round = 1; ; round++) {
            long compiled0 = jit.getTotalCompilationTime(), t0 = System.nanoTime();
            engine.run(prompts(inStreams, options.promptTokens()), tokens);
            if (http != null) http.run(prompts(stackStreams, options.promptTokens()), tokens);
            double jitShare = (jit.getTotalCompilationTime() - compiled0) * 1e6 / (System.nanoTime() - t0);
            if (jitShare < WARM_JIT_SHARE || System.nanoTime() - start > options.warmUpSeconds() * 1_000_000_000L) {
                System.out.printf(Locale.ROOT, "warm after %d round(s): the JIT took %.1f%% of the last one%n", round,
                        100 * jitShare);
                return;
            }
        }
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

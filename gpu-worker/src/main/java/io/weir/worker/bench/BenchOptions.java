package io.weir.worker.bench;

import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.WeightStorage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Options of {@code weir bench}; see {@link #USAGE}.
 *
 * @param shapes         model shapes to run
 * @param streams        concurrency levels of the in-process sweep
 * @param stackStreams   concurrency levels through HTTP + Kafka (empty: skip the stack)
 * @param tokens         tokens each stream generates (0: the shape's default)
 * @param promptTokens   prompt length of the streams
 * @param reps           repetitions of every measurement (median and best are reported)
 * @param warmUpSeconds  warm-up time at most per shape (it ends earlier once the JIT is quiet)
 * @param storage        weight storage (--quantize)
 * @param kvDtype        the KV cache's elements (--kv-cache-dtype; null: auto, the library's choice)
 * @param maxBatchTokens tokens per engine step
 * @param data           where generated checkpoints are kept between runs
 * @param markdown       also write the table there (null: stdout only)
 * @param llama2c        a built llama2.c {@code run} binary to measure beside the engine (null: skip)
 * @param llama2cTokenizer the tokenizer.bin it is given (null: none)
 */
record BenchOptions(List<Shape> shapes, int[] streams, int[] stackStreams, int tokens, int promptTokens, int reps,
                    int warmUpSeconds, WeightStorage storage, KvDtype kvDtype, int maxBatchTokens, Path data, Path markdown, Path llama2c,
                    Path llama2cTokenizer) {

    static final String USAGE = """
            usage: weir bench [options]

            Measures the machine's ceilings (read bandwidth over a buffer the size of the weights, peak FMA rate),
            then runs random-weight checkpoints through the engine in-process and through HTTP + Kafka, and prints
            each figure beside its roofline. The default run takes a few minutes.

            options:
              --shapes A,B           stories15M, stories110M (default both)
              --streams N,...        in-process concurrency levels (default 1,8,32,64)
              --stack-streams N,...  of those, the levels also run through HTTP + Kafka (default 1,32; "none" skips)
              --tokens N             tokens generated per stream (default 128 for stories15M, 64 for stories110M)
              --prompt N             prompt tokens per stream (default 32)
              --reps N               repetitions per measurement (default 3)
              --warmup S             warm-up at most S seconds per shape, until the JIT is quiet (default 90)
              --quantize f32|bf16|int8  weight storage (default f32)
              --kv-cache-dtype auto|f32|bf16|int8  KV-cache elements (default auto, as `weir up`)
              --max-batch-tokens N   tokens per engine step (default 256)
              --data DIR             where generated checkpoints are cached (default .weir/bench)
              --markdown FILE        also write the results table to FILE
              --llama2c PATH         a built llama2.c `run` binary: measured on the same checkpoints as a baseline
              --llama2c-tokenizer F  the tokenizer.bin for it (default ../shared/models/llama2-tokenizer-32k/tokenizer.bin
                                     when that exists)
              --long                 more tokens and repetitions (about 3x longer)
            """;

    private static final java.util.Set<String> FLAGS = java.util.Set.of("--shapes", "--streams", "--stack-streams", "--tokens",
            "--prompt", "--reps", "--warmup", "--quantize", "--kv-cache-dtype", "--max-batch-tokens", "--data", "--markdown", "--llama2c",
            "--llama2c-tokenizer");

    static BenchOptions parse(String... args) {
        List<Shape> shapes = List.of(Shape.STORIES_15M, Shape.STORIES_110M);
        int[] streams = {1, 8, 32, 64};
        int[] stack = {1, 32};
        int tokens = 0, prompt = 32, reps = 3, warmUp = 90, maxBatchTokens = 256;
        WeightStorage storage = WeightStorage.F32;
        KvDtype kvDtype = null;
        Path data = Path.of(".weir", "bench"), markdown = null, llama2c = null;
        Path llama2cTokenizer = Path.of("..", "shared", "models", "llama2-tokenizer-32k", "tokenizer.bin");
        boolean longRun = false;
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (flag.equals("--long")) {
                longRun = true;
                continue;
            }
            if (!FLAGS.contains(flag)) throw new IllegalArgumentException("unknown option " + flag);
            if (i + 1 >= args.length) throw new IllegalArgumentException("option " + flag + " needs a value");
            String v = args[++i];
            switch (flag) {
                case "--shapes" -> {
                    List<Shape> s = new ArrayList<>();
                    for (String name : v.split(",")) s.add(Shape.named(name.trim()));
                    shapes = List.copyOf(s);
                }
                case "--streams" -> streams = ints(flag, v);
                case "--stack-streams" -> stack = v.equals("none") ? new int[0] : ints(flag, v);
                case "--tokens" -> tokens = positive(flag, v);
                case "--prompt" -> prompt = positive(flag, v);
                case "--reps" -> reps = positive(flag, v);
                case "--warmup" -> warmUp = positive(flag, v);
                case "--quantize" -> storage = WeightStorage.parse(v);
                case "--kv-cache-dtype" -> kvDtype = KvDtype.parseOrAuto(v);
                case "--max-batch-tokens" -> maxBatchTokens = positive(flag, v);
                case "--data" -> data = Path.of(v);
                case "--markdown" -> markdown = Path.of(v);
                case "--llama2c" -> llama2c = Path.of(v);
                case "--llama2c-tokenizer" -> llama2cTokenizer = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + flag);
            }
        }
        if (longRun) {
            reps *= 3;
        }
        return new BenchOptions(shapes, streams, stack, tokens, prompt, reps, warmUp, storage, kvDtype, maxBatchTokens, data,
                markdown, llama2c, java.nio.file.Files.exists(llama2cTokenizer) ? llama2cTokenizer : null);
    }

    /** Tokens per stream for {@code shape}. */
    int tokensFor(Shape shape) {
        return tokens > 0 ? tokens : shape.defaultTokens();
    }

    int maxStreams() {
        int max = 1;
        for (int s : streams) max = Math.max(max, s);
        for (int s : stackStreams) max = Math.max(max, s);
        return max;
    }

    private static int[] ints(String flag, String v) {
        int[] out = Arrays.stream(v.split(",")).mapToInt(s -> positive(flag, s.trim())).toArray();
        if (out.length == 0) throw new IllegalArgumentException(flag + " needs at least one number");
        return out;
    }

    private static int positive(String flag, String v) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) return n;
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException(flag + " wants a positive number, got " + v);
    }
}

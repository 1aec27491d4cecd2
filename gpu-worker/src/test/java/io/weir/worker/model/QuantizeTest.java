package io.weir.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weir.infra.testing.TestModels;
import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.WeightStorage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Weights converted at load ({@code --quantize bf16|int8}): greedy tokens on the golden prompts compared with f32,
 * which itself reproduces golden.json. The agreement is printed (it is a property of the model, reported in
 * BENCHMARKS.md); the assertions are floors that a broken conversion (wrong layout, scale or rounding) falls far
 * below, since such a model produces unrelated tokens from the first one. Free-running greedy agreement jumps with
 * every early divergence, so the test also feeds f32's tokens back to both (teacher forcing) and compares each
 * position's prediction and distribution, a steadier measure of the conversion's error.
 */
class QuantizeTest {
    record Agreement(double tokens, double firstTokens, double prefix) {}

    record Forced(double top1, double meanKl, int positions) {}

    /** Weights stored as {@code storage}, the KV cache as {@code kv} (null: the library's choice for the storage). */
    record Quantized(WeightStorage storage, KvDtype kv) {
        ModelRunner.Options options() {
            return new ModelRunner.Options(1, 0, 64, 0, 16, storage).withKvDtype(kv);
        }

        @Override
        public String toString() {
            return storage + (kv == null ? "" : " weights, " + kv + " KV cache");
        }
    }

    static Agreement agreement(Path dir, List<Golden.Case> cases, Quantized q) throws Exception {
        int n = 32, same = 0, firstSame = 0, prefix = 0;
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        try (ModelRunner runner = ModelRunner.load(dir, cpu, q.options())) {
            assertEquals(q.storage(), runner.storage());
            assertEquals(q.kv() != null ? q.kv() : cpu.kvDtype(q.storage()), runner.kvDtype(), "the CPU's KV cache");
            for (Golden.Case c : cases) {
                int[] got = Golden.greedy(runner, 0, c.prompt(), n, null);
                boolean diverged = false;
                for (int i = 0; i < n; i++) {
                    if (got[i] == c.greedy()[i]) same++;
                    if (got[i] != c.greedy()[i]) diverged = true;
                    if (!diverged) prefix++;
                }
                if (got[0] == c.greedy()[0]) firstSame++;
            }
        }
        return new Agreement((double) same / (n * cases.size()), (double) firstSame / cases.size(),
                (double) prefix / cases.size());
    }

    /** The logits at every position of each case's prompt followed by its golden tokens, fed one at a time. */
    static float[][][] forcedLogits(Path dir, List<Golden.Case> cases, Quantized q) throws Exception {
        float[][][] out = new float[cases.size()][][];
        try (ModelRunner runner = ModelRunner.load(dir, KernelLibrary.load(Backend.CPU), q.options())) {
            for (int c = 0; c < cases.size(); c++) {
                int[] prompt = cases.get(c).prompt(), greedy = cases.get(c).greedy();
                out[c] = new float[prompt.length + greedy.length - 1][runner.config().vocabSize()];
                for (int i = 0; i < out[c].length; i++)
                    runner.forward(0, new int[] {i < prompt.length ? prompt[i] : greedy[i - prompt.length]}, i, out[c][i]);
            }
        }
        return out;
    }

    /** How often the argmax matches f32's, and the mean KL(f32 || quantized) in nats, over every position. */
    static Forced compare(float[][][] f32, float[][][] quantized) {
        int positions = 0, same = 0;
        double kl = 0;
        for (int c = 0; c < f32.length; c++)
            for (int i = 0; i < f32[c].length; i++) {
                positions++;
                if (Golden.argmax(f32[c][i]) == Golden.argmax(quantized[c][i])) same++;
                double[] p = Golden.logSoftmax(f32[c][i]), q = Golden.logSoftmax(quantized[c][i]);
                for (int v = 0; v < p.length; v++) kl += Math.exp(p[v]) * (p[v] - q[v]);
            }
        return new Forced((double) same / positions, kl / positions, positions);
    }

    @Test
    void quantizedWeightsAgreeWithF32OnTheGoldenPrompts() throws Exception {
        Path dir = TestModels.require("stories260K");
        List<Golden.Case> cases = Golden.load(dir);
        Agreement f32 = agreement(dir, cases, new Quantized(WeightStorage.F32, null));
        assertEquals(1.0, f32.tokens(), "f32 reproduces the golden tokens");
        float[][][] f32Forced = forcedLogits(dir, cases, new Quantized(WeightStorage.F32, null));
        for (Quantized s : List.of(new Quantized(WeightStorage.BF16, null), new Quantized(WeightStorage.INT8, null),
                new Quantized(WeightStorage.INT8, KvDtype.INT8))) {
            Agreement a = agreement(dir, cases, s);
            Forced f = compare(f32Forced, forcedLogits(dir, cases, s));
            System.out.printf(Locale.ROOT, "stories260K %s vs f32 greedy: %.1f%% of 32 tokens x %d prompts identical, "
                    + "first token %.0f%%, identical prefix %.1f tokens on average; teacher-forced: next token identical at "
                    + "%.1f%% of %d positions, mean KL %.5f nats%n", s, 100 * a.tokens(), cases.size(),
                    100 * a.firstTokens(), a.prefix(), 100 * f.top1(), f.positions(), f.meanKl());
            assertTrue(a.firstTokens() >= 0.75, s + ": first tokens agree " + a);
            assertTrue(a.tokens() >= 0.4, s + ": tokens agree " + a);
            assertTrue(f.top1() >= 0.9, s + ": teacher-forced predictions agree " + f);
        }
    }
}

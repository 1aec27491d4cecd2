package io.weir.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weir.infra.testing.TestModels;
import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.DType;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.WeightStorage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Weights converted at load ({@code --quantize bf16|int8}): greedy tokens on the golden prompts compared with f32,
 * which itself reproduces golden.json. The agreement is printed (it is a property of the model, reported in
 * BENCHMARKS.md); the assertions are floors that a broken conversion (wrong layout, scale or rounding) falls far
 * below, since such a model produces unrelated tokens from the first one.
 */
class QuantizeTest {
    record Agreement(double tokens, double firstTokens, double prefix) {}

    static Agreement agreement(Path dir, List<Golden.Case> cases, WeightStorage storage) throws Exception {
        int n = 32, same = 0, firstSame = 0, prefix = 0;
        try (ModelRunner runner = ModelRunner.load(dir, KernelLibrary.load(Backend.CPU),
                new ModelRunner.Options(1, 0, 64, 0, 16, storage))) {
            assertEquals(storage, runner.storage());
            assertEquals(storage == WeightStorage.F32 ? DType.F32 : DType.BF16, runner.kvDtype(), "the CPU's KV cache");
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

    @Test
    void quantizedWeightsAgreeWithF32OnTheGoldenPrompts() throws Exception {
        Path dir = TestModels.require("stories260K");
        List<Golden.Case> cases = Golden.load(dir);
        Agreement f32 = agreement(dir, cases, WeightStorage.F32);
        assertEquals(1.0, f32.tokens(), "f32 reproduces the golden tokens");
        for (WeightStorage s : List.of(WeightStorage.BF16, WeightStorage.INT8)) {
            Agreement a = agreement(dir, cases, s);
            System.out.printf(Locale.ROOT, "stories260K %s vs f32 greedy: %.1f%% of 32 tokens x %d prompts identical, "
                    + "first token %.0f%%, identical prefix %.1f tokens on average%n", s, 100 * a.tokens(), cases.size(),
                    100 * a.firstTokens(), a.prefix());
            assertTrue(a.firstTokens() >= 0.75, s + ": first tokens agree " + a);
            assertTrue(a.tokens() >= 0.4, s + ": tokens agree " + a);
        }
    }
}

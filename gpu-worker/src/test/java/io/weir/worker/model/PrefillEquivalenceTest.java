package io.weir.worker.model;

import io.weir.infra.testing.TestModels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.KernelLibrary;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The KV cache: one-call prefill = token-by-token, chunked prefill, slot isolation, batched steps, rewinds. */
class PrefillEquivalenceTest {
    static Path dir;
    static List<Golden.Case> cases;
    static KernelLibrary cpu;

    @BeforeAll
    static void setUp() throws Exception {
        dir = TestModels.require("stories260K");
        cases = Golden.load(dir);
        cpu = KernelLibrary.load(Backend.CPU);
    }

    private static void assertClose(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length);
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
        assertEquals(0, worst, tol, what + ": max |diff| " + worst);
    }

    /** Logits after feeding the prompt one token per call. */
    private static float[] oneByOne(ModelRunner r, int slot, int[] prompt) {
        float[] logits = new float[r.config().vocabSize()];
        for (int i = 0; i < prompt.length; i++) r.forward(slot, new int[] {prompt[i]}, i, logits);
        return logits;
    }

    private static float[] prefill(ModelRunner r, int slot, int[] prompt) {
        float[] logits = new float[r.config().vocabSize()];
        r.forward(slot, prompt, 0, logits);
        return logits;
    }

    @Test
    void prefillEqualsTokenByToken() throws Exception {
        try (ModelRunner r = ModelRunner.load(dir, 2, cpu)) {
            for (Golden.Case c : cases)
                assertClose(oneByOne(r, 0, c.prompt()), prefill(r, 1, c.prompt()), 1e-5, c.id());
        }
    }

    /**
     * With int8 weights every product is exact integer sums per row (W8A8), so a prompt's rows computed together (a
     * chunk: on the AMX path, tiles of 16-32 rows) give the same bits as the rows fed one by one (vector kernels).
     */
    @Test
    void int8PrefillEqualsTokenByTokenBitForBit() throws Exception {
        ModelRunner.Options int8 = new ModelRunner.Options(2, 0, ModelRunner.Options.DEFAULT_MAX_BATCH, 0,
                io.weir.worker.kernels.ModelOptions.DEFAULT_BLOCK_SIZE, io.weir.worker.kernels.WeightStorage.INT8,
                io.weir.worker.kernels.KvDtype.F32);
        try (ModelRunner r = ModelRunner.load(dir, cpu, int8)) {
            for (Golden.Case c : cases) assertArrayEquals(oneByOne(r, 0, c.prompt()), prefill(r, 1, c.prompt()), c.id());
        }
    }

    @Test
    void chunkedPrefillEqualsOneChunk() throws Exception {
        // maxBatch 4: a 23-token prompt runs as 6 chunks inside one wk_forward call
        try (ModelRunner whole = ModelRunner.load(dir, 1, cpu);
                ModelRunner chunked = ModelRunner.load(dir, cpu, new ModelRunner.Options(1, 0, 4))) {
            for (Golden.Case c : cases)
                assertClose(prefill(whole, 0, c.prompt()), prefill(chunked, 0, c.prompt()), 1e-5, c.id());
        }
    }

    @Test
    void interleavedSlotsMatchRunningAlone() throws Exception {
        int n = 12;
        try (ModelRunner r = ModelRunner.load(dir, cases.size(), cpu)) {
            int[][] alone = new int[cases.size()][];
            for (int s = 0; s < cases.size(); s++) alone[s] = Golden.greedy(r, s, cases.get(s).prompt(), n, null);

            // all sequences at once, one slot each, advancing round-robin
            float[][] logits = new float[cases.size()][r.config().vocabSize()];
            int[][] together = new int[cases.size()][n];
            for (int s = 0; s < cases.size(); s++) r.forward(s, cases.get(s).prompt(), 0, logits[s]);
            for (int i = 0; i < n; i++)
                for (int s = cases.size() - 1; s >= 0; s--) { // reverse order on purpose
                    together[s][i] = Golden.argmax(logits[s]);
                    r.forward(s, new int[] {together[s][i]}, cases.get(s).prompt().length + i, logits[s]);
                }
            for (int s = 0; s < cases.size(); s++) assertArrayEquals(alone[s], together[s], cases.get(s).id());
        }
    }

    @Test
    void batchedDecodeStepMatchesSingleSequenceSteps() throws Exception {
        try (ModelRunner single = ModelRunner.load(dir, cases.size(), cpu);
                ModelRunner batched = ModelRunner.load(dir, cases.size(), cpu)) {
            int rows = cases.size(), vocab = single.config().vocabSize();
            int[] slots = new int[rows], tokens = new int[rows], positions = new int[rows];
            float[][] want = new float[rows][vocab];
            for (int s = 0; s < rows; s++) {
                int[] p = cases.get(s).prompt();
                single.forward(s, p, 0, want[s]);
                batched.forward(s, p, 0, new float[vocab]);
                slots[s] = s;
                tokens[s] = Golden.argmax(want[s]);
                positions[s] = p.length;
            }
            for (int step = 0; step < 6; step++) {
                float[] got = new float[rows * vocab];
                batched.forwardBatch(slots, tokens, positions, got);
                for (int s = 0; s < rows; s++) {
                    single.forward(s, new int[] {tokens[s]}, positions[s], want[s]);
                    float[] row = java.util.Arrays.copyOfRange(got, s * vocab, (s + 1) * vocab);
                    assertClose(want[s], row, 1e-5, "step " + step + " slot " + s);
                    tokens[s] = Golden.argmax(row);
                    positions[s]++;
                }
            }
        }
    }

    @Test
    void batchMayMixPrefillChunkAndDecodeRows() throws Exception {
        try (ModelRunner r = ModelRunner.load(dir, 2, cpu)) {
            int vocab = r.config().vocabSize();
            int[] a = cases.get(0).prompt(), b = cases.get(2).prompt();
            float[] wantA = prefill(r, 0, a), wantB = prefill(r, 1, b);
            // slot 0 re-runs its last prompt token (a rewind by one), slot 1 re-runs its whole prompt
            int rows = 1 + b.length;
            int[] slots = new int[rows], tokens = new int[rows], pos = new int[rows];
            slots[0] = 0;
            tokens[0] = a[a.length - 1];
            pos[0] = a.length - 1;
            for (int i = 0; i < b.length; i++) {
                slots[1 + i] = 1;
                tokens[1 + i] = b[i];
                pos[1 + i] = i;
            }
            float[] got = new float[rows * vocab];
            r.forwardBatch(slots, tokens, pos, got);
            assertClose(wantA, java.util.Arrays.copyOfRange(got, 0, vocab), 1e-5, "decode row");
            assertClose(wantB, java.util.Arrays.copyOfRange(got, (rows - 1) * vocab, rows * vocab), 1e-5, "last prefill row");
        }
    }

    @Test
    void rewindingASlotRecomputesFromThatPosition() throws Exception {
        try (ModelRunner r = ModelRunner.load(dir, 1, cpu)) {
            int[] p = cases.get(2).prompt(), other = cases.get(3).prompt();
            float[] want = prefill(r, 0, p);
            r.forward(0, other, 0, new float[r.config().vocabSize()]); // reuse the slot for another sequence
            float[] got = new float[r.config().vocabSize()];
            r.forward(0, p, 0, got); // start over
            assertClose(want, got, 0, "fresh sequence in a reused slot");
            // rewind to position 3 and replay the rest
            r.forward(0, java.util.Arrays.copyOfRange(p, 3, p.length), 3, got);
            assertClose(want, got, 1e-5, "rewind to position 3");
        }
    }
}

package io.weir.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weir.infra.testing.TestModels;
import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.KernelException;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.WeightStorage;
import io.weir.worker.sampling.Sampler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The paged API on the real stories260K checkpoint: sequences whose blocks are scattered over the pool give the same
 * logits as the slot API's contiguous blocks, several sequences (prefill chunks and decode rows) share a step, and
 * the native greedy token equals the Java sampler's argmax of the same row, also in steps that store no logits.
 */
class PagedRunnerTest {
    static Path dir;
    static List<Golden.Case> cases;

    @BeforeAll
    static void setUp() throws Exception {
        dir = TestModels.require("stories260K");
        cases = Golden.load(dir);
    }

    @Test
    void scatteredBlocksGiveTheSlotApisLogitsAndGreedyTokens() throws Exception {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        int n = cases.size();
        try (ModelRunner slots = ModelRunner.load(dir, n, cpu);
                ModelRunner paged = ModelRunner.load(dir, cpu, ModelRunner.Options.paged(0, 128, 8 * 32, 16, WeightStorage.F32))) {
            int vocab = slots.config().vocabSize(), stride = paged.tableStride();
            // every sequence gets 32 blocks drawn from a shuffled pool
            List<Integer> pool = new ArrayList<>();
            for (int b = 0; b < paged.kvBlocks(); b++) pool.add(b);
            Collections.shuffle(pool, new Random(5));
            int[] tables = new int[n * stride];
            for (int i = 0; i < n * stride; i++) tables[i] = pool.get(i % pool.size());

            // step 1: every prompt at once (prefill chunks of several sequences in one step)
            int rows = 0;
            for (Golden.Case c : cases) rows += c.prompt().length;
            int[] tokens = new int[rows], positions = new int[rows], rowSeq = new int[rows], logitRows = new int[n];
            int r = 0;
            for (int s = 0; s < n; s++) {
                int[] p = cases.get(s).prompt();
                for (int i = 0; i < p.length; i++, r++) {
                    tokens[r] = p[i];
                    positions[r] = i;
                    rowSeq[r] = s;
                }
                logitRows[s] = r - 1;
            }
            assertTrue(rows <= 128, "all prompts fit one step: " + rows);
            paged.forwardPaged(rows, tokens, positions, rowSeq, n, tables, n, logitRows);

            // then 8 decode steps of one row per sequence, greedy
            int[] pos = new int[n];
            for (int step = 0; step < 8; step++) {
                int[] next = new int[n];
                for (int s = 0; s < n; s++) {
                    float[] want = new float[vocab], got = new float[vocab];
                    int[] p = cases.get(s).prompt();
                    if (step == 0) {
                        slots.forward(s, p, 0, want);
                        pos[s] = p.length;
                    } else {
                        slots.forward(s, new int[] {tokens[s]}, pos[s]++, want);
                    }
                    if (step % 2 == 1) { // a greedy-only step (below): no logits stored, the greedy tokens all the same
                        int seq = s;
                        assertThrows(IllegalStateException.class, () -> paged.logitsOf(seq, got));
                        next[s] = Sampler.argmax(want);
                    } else {
                        paged.logitsOf(s, got);
                        for (int i = 0; i < vocab; i++)
                            assertEquals(want[i], got[i], 1e-5, cases.get(s).id() + " step " + step + " logit " + i);
                        next[s] = Sampler.argmax(got);
                    }
                    assertEquals(next[s], paged.argmaxOf(s), "native greedy token of " + cases.get(s).id() + " step " + step);
                    if (step < cases.get(s).greedy().length) assertEquals(cases.get(s).greedy()[step], next[s]);
                }
                int[] decodePos = new int[n], seqs = new int[n], lr = new int[n];
                for (int s = 0; s < n; s++) {
                    decodePos[s] = pos[s];
                    seqs[s] = s;
                    lr[s] = s;
                }
                tokens = next;
                paged.forwardPaged(n, next, decodePos, seqs, n, tables, n, lr, step % 2 == 0);
            }
        }
    }

    @Test
    void blockIdsOutsideThePoolAreRejected() throws Exception {
        try (ModelRunner paged = ModelRunner.load(dir, KernelLibrary.load(Backend.CPU),
                ModelRunner.Options.paged(0, 8, 40, 16, WeightStorage.F32))) {
            int[] table = new int[paged.tableStride()];
            table[0] = 40;
            KernelException e = assertThrows(KernelException.class, () -> paged.forwardPaged(1, new int[] {1}, new int[] {0},
                    new int[] {0}, 1, table, 1, new int[] {0}));
            assertTrue(e.getMessage().contains("block 0 of sequence 0 is 40, out of range [0, 40)"), e.getMessage());
        }
    }
}

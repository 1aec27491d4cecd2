package io.weir.worker.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.weir.worker.sampling.Sampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every SIMD path of the batched product (each weight storage type, several batch sizes) and of paged attention
 * (each KV-cache element type) equals a double-precision reference computed here, from the same inputs, within f32
 * rounding. Quantized storage is checked against the reference on the quantized weights (bf16 rounding, int8 with
 * a per-row scale of max|w| / 127), and a bf16 KV cache against the reference on bf16-rounded keys and values, so
 * the test checks the kernels, not the quantization error. Path 3 (AVX512_BF16) multiplies bf16 weights by
 * activations rounded to bf16: its reference rounds them too. The CPU multiplies int8 weights by activations
 * quantized to int8 per row (W8A8) on every path, in exact integer sums: each path must return {@link #w8a8}'s
 * floats bit for bit (so every SIMD path equals the scalar one), and those are within the activations' rounding of
 * the reference.
 */
class KernelPathsTest {
    // {m rows, n inputs, d outputs}: tails of every kind (rows past 8, columns past 32, odd n); for the AMX paths'
    // tiles (16 rows x 64 inputs, row groups of 32), groups of 16, 17, 32 and 8 rows and inputs past a multiple of 64
    static final int[][] GEMM_SHAPES = {{1, 1, 1}, {1, 7, 3}, {2, 64, 172}, {3, 33, 45}, {8, 288, 96}, {9, 96, 65},
            {17, 48, 33}, {33, 40, 64}, {64, 128, 40}, {16, 300, 70}, {40, 1000, 33}};

    private static int[] cpuPaths() {
        return java.util.stream.IntStream.range(0, KernelLibrary.CPU_PATHS).toArray();
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /** The symmetric int8 scale of a[from..from + n): max |a| / 127 (1 when all are zero). */
    static float int8Scale(float[] a, int from, int n) {
        float amax = 0;
        for (int j = from; j < from + n; j++) amax = Math.max(amax, Math.abs(a[j]));
        return amax > 0 ? amax / 127f : 1f;
    }

    /** The weights the kernels hold after storing {@code w} (d rows of n) as {@code storage}. */
    static float[] stored(float[] w, int n, int d, WeightStorage storage) {
        float[] out = w.clone();
        for (int row = 0; row < d; row++) {
            float scale = int8Scale(w, row * n, n);
            for (int j = 0; j < n; j++) {
                int i = row * n + j;
                out[i] = switch (storage) {
                    case F32 -> w[i];
                    case BF16 -> DType.bf16ToFloat(DType.floatToBf16(w[i]));
                    case INT8 -> (float) Math.rint(w[i] / scale) * scale;
                };
            }
        }
        return out;
    }

    private static int[] int8(float[] a, int rows, int n, float[] scales) {
        int[] q = new int[a.length];
        for (int row = 0; row < rows; row++) {
            scales[row] = int8Scale(a, row * n, n);
            for (int j = 0; j < n; j++) q[row * n + j] = (int) Math.rint(a[row * n + j] / scales[row]);
        }
        return q;
    }

    /**
     * The CPU's product with int8 weights (gemm.h): x and w quantized per row, q = rint(v / s) with s = max |v| /
     * 127, the integer sum of q_x q_w, then (float) sum * s_x * s_w in f32.
     */
    static float[] w8a8(float[] x, float[] w, int m, int n, int d) {
        float[] xs = new float[m], ws = new float[d];
        int[] qx = int8(x, m, n, xs), qw = int8(w, d, n, ws);
        float[] out = new float[m * d];
        for (int row = 0; row < m; row++)
            for (int i = 0; i < d; i++) {
                int sum = 0;
                for (int j = 0; j < n; j++) sum += qx[row * n + j] * qw[i * n + j];
                out[row * d + i] = (float) sum * xs[row] * ws[i];
            }
        return out;
    }

    /** w8a8: whether the library quantizes the activations of int8 products (the CPU does, CUDA does not). */
    private static List<String> checkGemm(KernelLibrary lib, int[] paths, boolean w8a8) {
        SplittableRandom r = new SplittableRandom(42);
        List<String> ran = new ArrayList<>();
        for (WeightStorage storage : WeightStorage.values()) {
            for (int[] s : GEMM_SHAPES) {
                int m = s[0], n = s[1], d = s[2];
                float[] x = gaussian(r, m * n), w = gaussian(r, n * d), q = stored(w, n, d, storage);
                float[] xBf16 = stored(x, x.length, 1, WeightStorage.BF16);
                boolean a8 = w8a8 && storage == WeightStorage.INT8;
                float[] exact = a8 ? w8a8(x, w, m, n, d) : null;
                for (int path : paths) {
                    float[] out = new float[m * d];
                    if (!lib.testGemm(path, storage, out, x, w, m, n, d)) continue;
                    float[] xs = path == 3 && storage == WeightStorage.BF16 ? xBf16 : x;
                    String what = lib.name() + " path " + path + " " + storage;
                    if (!ran.contains(what)) ran.add(what);
                    for (int row = 0; row < m; row++) {
                        // int8 activations: each x off by at most half its row's scale
                        double xErr = a8 ? int8Scale(x, row * n, n) / 2.0 : 0;
                        for (int i = 0; i < d; i++) {
                            String at = what + " m=" + m + " n=" + n + " d=" + d + " at (" + row + ", " + i + ")";
                            double ref = 0, scale = 0, quantErr = 0;
                            for (int j = 0; j < n; j++) {
                                ref += (double) xs[row * n + j] * q[i * n + j];
                                scale += Math.abs((double) xs[row * n + j] * q[i * n + j]);
                                quantErr += xErr * Math.abs(q[i * n + j]);
                            }
                            if (a8) assertEquals(exact[row * d + i], out[row * d + i], at);
                            assertEquals(ref, out[row * d + i], quantErr + 2e-6 * scale + 1e-6, at);
                        }
                    }
                }
            }
        }
        return ran;
    }

    @Test
    void cpuGemmPathsMatchTheReference() {
        List<String> ran = checkGemm(KernelLibrary.load(Backend.CPU), cpuPaths(), true);
        System.out.println("cpu gemm paths checked: " + ran);
        assertTrue(ran.contains("cpu path 0 F32") && ran.contains("cpu path 0 INT8"), ran.toString());
        // the tile model runs wherever VNNI does, so the AMX driver is checked on every AVX-512 VNNI machine
        assertEquals(ran.contains("cpu path 4 INT8"), ran.contains("cpu path 6 INT8"), ran.toString());
    }

    /**
     * The AMX path (5) is offered exactly where the CPU has AMX-TILE and AMX-INT8 (the flags of /proc/cpuinfo) and the
     * OS granted the tile state; a CPU with AMX whose instructions disagree with their model on the library's check
     * fails here rather than quietly running on VNNI.
     */
    @Test
    void cpuAmxPathIsOfferedWhereTheCpuHasIt() throws Exception {
        KernelLibrary lib = KernelLibrary.load(Backend.CPU);
        String info = lib.info();
        String flags = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("flags")).findFirst().orElse("");
        boolean cpuHasAmx = flags.contains(" amx_tile") && flags.contains(" amx_int8");
        int m = 20, n = 70, d = 40;
        SplittableRandom r = new SplittableRandom(5);
        float[] x = gaussian(r, m * n), w = gaussian(r, n * d), out = new float[m * d];
        boolean offered = lib.testGemm(5, WeightStorage.INT8, out, x, w, m, n, d);
        assertTrue(!info.contains("disagreed"), info);
        if (!cpuHasAmx) assertTrue(!offered, "no AMX in /proc/cpuinfo, yet path 5 ran: " + info);
        else assertEquals(!info.contains("did not grant"), offered, info);
        if (offered) assertArrayEquals(w8a8(x, w, m, n, d), out);
        System.out.println("cpu AMX: " + (cpuHasAmx ? "present, path 5 " + (offered ? "ran" : "refused") : "absent") + "; " + info);
    }

    /**
     * {@link KernelLibrary#CPU_PATHS} is written by hand after simd.h's SIMD_N_PATHS: the library must know the last
     * of them (it runs it or says the CPU cannot) and refuse the next as unknown, so a path added to the C side
     * without counting it here, which every loop over the paths in these tests would skip, fails this test.
     */
    @Test
    void cpuPathCountMatchesTheLibrary() {
        KernelLibrary lib = KernelLibrary.load(Backend.CPU);
        float[] x = {1f}, w = {2f}, out = new float[1];
        int last = KernelLibrary.CPU_PATHS - 1;
        if (lib.testGemm(last, WeightStorage.F32, out, x, w, 1, 1, 1)) assertEquals(2f, out[0]);
        KernelException unknown = assertThrows(KernelException.class,
                () -> lib.testGemm(KernelLibrary.CPU_PATHS, WeightStorage.F32, out, x, w, 1, 1, 1));
        assertEquals(WeirNative.WK_ERR_ARG, unknown.status(), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("unknown path " + KernelLibrary.CPU_PATHS), unknown.getMessage());
    }

    @Test
    void cpuInt8RowsWithANonFiniteInputGiveNaN() {
        KernelLibrary lib = KernelLibrary.load(Backend.CPU);
        int m = 3, n = 40, d = 33;
        SplittableRandom r = new SplittableRandom(3);
        float[] w = gaussian(r, n * d);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            float[] x = gaussian(r, m * n);
            float[] exact = w8a8(x, w, m, n, d);
            x[n + 7] = bad; // row 1
            for (int path = 0; path < KernelLibrary.CPU_PATHS; path++) {
                float[] out = new float[m * d];
                if (!lib.testGemm(path, WeightStorage.INT8, out, x, w, m, n, d)) continue;
                for (int i = 0; i < m * d; i++) {
                    String at = "path " + path + " with " + bad + " at " + i;
                    if (i / d == 1) assertTrue(Float.isNaN(out[i]), at);
                    else assertEquals(exact[i], out[i], at);
                }
            }
        }
    }

    /**
     * A step that stores no logits finds each row's greedy token from per-panel maxima (gemm_argmax): on every path
     * and storage it must pick what {@link Sampler#argmax} picks from the stored product, including ties within and
     * across 32-column panels (the first column wins), NaN columns (skipped, also at the start of a panel), a NaN
     * column 0 (index 0, as wk_argmax_ref keeps it), and a last panel of fewer than 32 columns.
     */
    @Test
    void cpuGreedyTokensWithoutLogitsMatchTheArgmaxOfTheProduct() {
        KernelLibrary lib = KernelLibrary.load(Backend.CPU);
        SplittableRandom r = new SplittableRandom(11);
        int n = 40, d = 100, m = 10; // panels of 32, 32, 32 and 4 columns
        float[] x = gaussian(r, m * n);
        for (int i = 0; i < x.length; i++) x[i] = Math.abs(x[i]) + 0.1f; // positive: a larger weight row wins
        float[] w = gaussian(r, n * d);
        float[] big = new float[n];
        Arrays.fill(big, 3f);
        System.arraycopy(big, 0, w, 70 * n, n); // row 70 ties rows 5 and 40 (other panels); rows 97, 99 tie in the last
        System.arraycopy(big, 0, w, 40 * n, n);
        float[][] variants = new float[5][];
        variants[0] = w.clone(); // plain random weights: no ties
        for (int v = 1; v < 5; v++) variants[v] = w.clone();
        System.arraycopy(big, 0, variants[1], 5 * n, n);
        variants[2][2 * n] = Float.NaN; // column 2 NaN; column 32 (panel 1's first) NaN; the maximum after them
        variants[2][32 * n + 1] = Float.NaN;
        variants[3][0] = Float.NaN; // column 0 NaN: index 0
        System.arraycopy(big, 0, variants[4], 97 * n, n); // the last, short panel
        System.arraycopy(big, 0, variants[4], 99 * n, n);
        for (int c = 0; c < d; c++) if (c != 97 && c != 99) variants[4][c * n] = -5f; // below them
        System.arraycopy(big, 0, variants[4], 70 * n, n);
        for (int c : new int[] {40, 70}) variants[4][c * n] = 2f; // rows 40, 70 a little smaller than 97, 99
        List<String> ran = new ArrayList<>();
        for (WeightStorage storage : WeightStorage.values()) {
            for (int path = 0; path < KernelLibrary.CPU_PATHS; path++) {
                for (int v = 0; v < variants.length; v++) {
                    float[] out = new float[m * d];
                    int[] greedy = new int[m];
                    if (!lib.testGemm(path, storage, out, x, variants[v], m, n, d)) continue;
                    assertTrue(lib.testGemmArgmax(path, storage, greedy, x, variants[v], m, n, d));
                    for (int row = 0; row < m; row++) {
                        int want = Sampler.argmax(Arrays.copyOfRange(out, row * d, row * d + d));
                        assertEquals(want, greedy[row], storage + " path " + path + " variant " + v + " row " + row);
                    }
                    ran.add(storage + "/" + path + "/" + v);
                }
            }
        }
        System.out.println("greedy-only argmax checked: " + ran);
        assertTrue(ran.contains("F32/0/3") && ran.contains("INT8/0/4"), ran.toString());
    }

    @Test
    void cudaGemmMatchesTheReference() {
        String why = BackendSelector.cudaUnavailableReason();
        assumeTrue(why == null, "CUDA gemm test skipped: " + why);
        List<String> ran = checkGemm(KernelLibrary.load(Backend.CUDA), new int[] {1}, false);
        assertEquals(3, ran.size(), ran.toString());
    }

    /** Dense causal attention of one query at the last of {@code nPos} positions, in double. */
    static double[] denseAttention(int nHeads, int nKv, int hd, int nPos, float[] q, float[] k, float[] v) {
        double[] out = new double[nHeads * hd];
        int kvDim = nKv * hd, group = nHeads / nKv;
        for (int h = 0; h < nHeads; h++) {
            int g = h / group;
            double[] s = new double[nPos];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int t = 0; t < nPos; t++) {
                for (int i = 0; i < hd; i++) s[t] += (double) q[h * hd + i] * k[t * kvDim + g * hd + i];
                s[t] /= Math.sqrt(hd);
                max = Math.max(max, s[t]);
            }
            for (int t = 0; t < nPos; t++) sum += (s[t] = Math.exp(s[t] - max));
            for (int t = 0; t < nPos; t++)
                for (int i = 0; i < hd; i++) out[h * hd + i] += s[t] / sum * v[t * kvDim + g * hd + i];
        }
        return out;
    }

    /** Keys or values ({@code hd} per position and kv head) as a KV cache of {@code kv} elements gives them back. */
    private static float[] kvStored(float[] x, int hd, KvDtype kv) {
        return switch (kv) {
            case F32 -> x.clone();
            case BF16 -> stored(x, x.length, 1, WeightStorage.BF16);
            case INT8 -> stored(x, hd, x.length / hd, WeightStorage.INT8);
        };
    }

    private static List<String> checkAttention(KernelLibrary lib, int[] paths) {
        SplittableRandom r = new SplittableRandom(7);
        // {n_heads, n_kv_heads, head_dim, block_size, positions, query rows}: GQA, head sizes with SIMD tails, partial
        // blocks; one row (decode) or the last rows of a prompt chunk, in tiles of 4 and leftovers, from position 0 on
        int[][] cases = {{1, 1, 2, 16, 1, 1}, {8, 4, 8, 16, 23, 7}, {6, 6, 48, 16, 77, 13}, {4, 2, 64, 32, 100, 9},
                {2, 1, 20, 16, 16, 16}, {12, 12, 64, 16, 257, 6}, {3, 1, 96, 16, 40, 5}, {2, 2, 16, 16, 32, 4},
                {2, 2, 16, 16, 48, 3}, {6, 6, 48, 16, 130, 130}, {4, 1, 64, 16, 200, 70}, {2, 2, 8, 16, 70, 1}};
        List<String> ran = new ArrayList<>();
        for (int[] c : cases) {
            int nHeads = c[0], nKv = c[1], hd = c[2], bs = c[3], nPos = c[4], nRows = c[5], blocks = (nPos + bs - 1) / bs;
            int qDim = nHeads * hd;
            // the sequence's blocks scattered over a larger pool, in a shuffled order
            List<Integer> ids = new ArrayList<>();
            for (int b = 0; b < blocks * 3; b++) ids.add(b);
            java.util.Collections.shuffle(ids, new java.util.Random(r.nextLong()));
            int[] table = ids.subList(0, blocks).stream().mapToInt(Integer::intValue).toArray();
            float[] q = gaussian(r, nRows * qDim), k = gaussian(r, nPos * nKv * hd), v = gaussian(r, nPos * nKv * hd);
            for (KvDtype kv : KvDtype.values()) {
                // what the cache holds: bf16-rounded elements, or each position's key and value of a kv head in int8
                float[] ks = kvStored(k, hd, kv), vs = kvStored(v, hd, kv);
                for (int path : paths) {
                    float[] out = new float[nRows * qDim];
                    if (!lib.testAttention(path, kv, nHeads, nKv, hd, bs, nPos, nRows, table, q, k, v, out)) continue;
                    String what = "path " + path + " " + kv;
                    if (!ran.contains(what)) ran.add(what);
                    for (int row = 0; row < nRows; row++) {
                        int seen = nPos - nRows + row + 1; // positions this row attends to
                        float[] qRow = Arrays.copyOfRange(q, row * qDim, (row + 1) * qDim);
                        float[] outRow = Arrays.copyOfRange(out, row * qDim, (row + 1) * qDim);
                        double[] want = denseAttention(nHeads, nKv, hd, seen, qRow, ks, vs);
                        String where = lib.name() + " " + what + " case " + Arrays.toString(c) + " row " + row;
                        for (int i = 0; i < qDim; i++)
                            assertEquals(want[i], outRow[i], 2e-5 * (1 + Math.abs(want[i])), where + " element " + i);
                        // a row's output must not depend on the rows computed beside it: the same bits alone, as in
                        // decode (what keeps a request's tokens identical alone and batched)
                        if (nRows > 1) {
                            float[] alone = new float[qDim];
                            assertTrue(lib.testAttention(path, kv, nHeads, nKv, hd, bs, seen, 1, table, qRow, k, v, alone));
                            assertArrayEquals(alone, outRow, where + ": differs from the row alone");
                        }
                    }
                }
            }
        }
        return ran;
    }

    @Test
    void cpuPagedAttentionEqualsDenseAttention() {
        List<String> ran = checkAttention(KernelLibrary.load(Backend.CPU), cpuPaths());
        System.out.println("cpu attention paths checked: " + ran);
        assertTrue(ran.contains("path 0 F32") && ran.contains("path 0 BF16") && ran.contains("path 0 INT8"), ran.toString());
    }

    @Test
    void cudaPagedAttentionEqualsDenseAttention() {
        String why = BackendSelector.cudaUnavailableReason();
        assumeTrue(why == null, "CUDA attention test skipped: " + why);
        assertEquals(List.of("path 1 F32"), checkAttention(KernelLibrary.load(Backend.CUDA), new int[] {1}));
    }
}

package io.weir.worker.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Every SIMD matmul path equals the scalar reference (wk_test_matmul path 0) within 1e-4 relative. */
class MatmulPathsTest {
    static final int[][] SHAPES = {{1, 1}, {7, 3}, {8, 5}, {15, 2}, {16, 16}, {17, 9}, {31, 4}, {32, 8}, {33, 7}, {64, 172},
            {172, 64}, {288, 31}, {1000, 13}, {4096, 11}};

    @Test
    void cpuPathsMatchTheScalarReference() {
        List<String> ran = checkPaths(KernelLibrary.load(Backend.CPU), KernelLibrary.CPU_PATHS);
        System.out.println("cpu matmul paths checked: " + ran);
        assertTrue(ran.contains("path 0"));
    }

    @Test
    void cudaPathMatchesTheScalarReference() {
        String why = BackendSelector.cudaUnavailableReason();
        assumeTrue(why == null, "CUDA matmul test skipped: " + why);
        List<String> ran = checkPaths(KernelLibrary.load(Backend.CUDA), 2);
        assertTrue(ran.contains("path 1"), "the device kernel did not run: " + ran);
    }

    @Test
    void unknownPathIsAnError() {
        KernelException e = assertThrows(KernelException.class,
                () -> KernelLibrary.load(Backend.CPU).testMatmul(9, new float[1], new float[1], new float[1], 1, 1));
        assertTrue(e.getMessage().contains("unknown path 9"), e.getMessage());
    }

    private static List<String> checkPaths(KernelLibrary lib, int nPaths) {
        SplittableRandom rng = new SplittableRandom(1234);
        List<String> ran = new ArrayList<>();
        for (int[] s : SHAPES) {
            int n = s[0], d = s[1];
            float[] x = new float[n], w = new float[n * d];
            for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
            for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian();
            float[] ref = new float[d];
            assertTrue(lib.testMatmul(0, ref, x, w, n, d));
            for (int path = 1; path < nPaths; path++) {
                float[] out = new float[d];
                if (!lib.testMatmul(path, out, x, w, n, d)) continue;
                if (!ran.contains("path " + path)) ran.add("path " + path);
                for (int i = 0; i < d; i++) {
                    // relative to the size of the terms: cancellation can make the sum itself tiny
                    double scale = 0;
                    for (int j = 0; j < n; j++) scale += Math.abs(w[i * n + j] * x[j]);
                    assertEquals(ref[i], out[i], 1e-4 * Math.max(scale, 1e-6),
                            lib.name() + " path " + path + " n=" + n + " d=" + d + " row " + i);
                }
            }
        }
        ran.add(0, "path 0");
        return ran;
    }
}

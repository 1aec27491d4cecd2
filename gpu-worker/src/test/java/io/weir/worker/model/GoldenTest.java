package io.weir.worker.model;

import io.weir.infra.testing.TestModels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.BackendSelector;
import io.weir.worker.kernels.KernelLibrary;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** stories260K against golden.json (float64 reference, cross-checked with llama2.c) on each backend. */
class GoldenTest {
    @Test
    void cpuMatchesGolden() throws Exception {
        Path dir = TestModels.require("stories260K");
        List<Golden.Case> cases = Golden.load(dir);
        assertEquals(8, cases.size());
        try (ModelRunner runner = ModelRunner.load(dir, 2, KernelLibrary.load(Backend.CPU))) {
            assertEquals("cpu", runner.backendName());
            Golden.check(runner, cases);
        }
    }

    @Test
    void cudaMatchesGolden() throws Exception {
        Path dir = TestModels.require("stories260K");
        String why = BackendSelector.cudaUnavailableReason();
        assumeTrue(why == null, "CUDA golden test skipped: " + why);
        try (ModelRunner runner = ModelRunner.load(dir, 2, KernelLibrary.load(Backend.CUDA))) {
            assertEquals("cuda", runner.backendName());
            Golden.check(runner, Golden.load(dir));
        }
    }
}

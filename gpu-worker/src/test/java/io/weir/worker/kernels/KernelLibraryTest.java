package io.weir.worker.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Loading, backend selection and the C-level argument checks, through the FFM binding. */
class KernelLibraryTest {
    static final KernelConfig TINY = new KernelConfig(16, 32, 2, 4, 2, 4, 40, 8, 1e-5f, 10000f, false);

    @Test
    void cpuLibraryLoadsOnce() {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        assertSame(cpu, KernelLibrary.load(Backend.CPU));
        assertEquals("cpu", cpu.name());
        assertEquals(1, cpu.deviceCount());
        assertTrue(cpu.info().startsWith("cpu: ") && cpu.info().contains("threads"), cpu.info());
        assertTrue(cpu.path().toString().endsWith("libweir_cpu.so"));
    }

    @Test
    void selection() {
        assertEquals(Backend.CPU, BackendSelector.select("cpu").backend());
        assertEquals(Backend.CPU, BackendSelector.select(" CPU ").backend());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BackendSelector.select("tpu"));
        assertTrue(e.getMessage().contains("expected cpu, cuda or auto"), e.getMessage());
        String why = BackendSelector.cudaUnavailableReason();
        Backend auto = BackendSelector.select("auto").backend();
        assertEquals(why == null ? Backend.CUDA : Backend.CPU, auto, "auto with CUDA unavailable because: " + why);
        if (why != null) {
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> BackendSelector.select("cuda"));
            assertTrue(s.getMessage().contains("cuda"), s.getMessage());
        }
    }

    @Test
    void cudaLibraryWithoutDeviceFailsCleanly() {
        KernelLibrary cuda;
        try {
            cuda = KernelLibrary.load(Backend.CUDA);
        } catch (IllegalStateException e) {
            assumeTrue(false, "CUDA backend not built here: " + e.getMessage());
            return;
        }
        assumeTrue(cuda.deviceCount() == 0, "a CUDA device is present; this test is for machines without one");
        assertEquals("cuda", cuda.name());
        assertFalse(cuda.lastError().isEmpty(), "wk_device_count should leave the CUDA error");
        KernelException e = assertThrows(KernelException.class, () -> cuda.createModel(TINY, 1, 1));
        assertEquals("WK_ERR_DEVICE", e.statusName());
        assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
        assertFalse(cuda.testMatmul(1, new float[1], new float[1], new float[1], 1, 1), "device path unsupported");
        assertTrue(cuda.info().startsWith("cuda: no usable device"), cuda.info());
    }

    @Test
    void createValidatesTheConfig() {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        KernelException e = assertThrows(KernelException.class,
                () -> cpu.createModel(new KernelConfig(16, 32, 2, 4, 3, 4, 40, 8, 1e-5f, 1e4f, false), 1, 1));
        assertTrue(e.getMessage().contains("n_heads 4 is not a multiple of n_kv_heads 3"), e.getMessage());
        e = assertThrows(KernelException.class,
                () -> cpu.createModel(new KernelConfig(16, 32, 2, 4, 2, 5, 40, 8, 1e-5f, 1e4f, false), 1, 1));
        assertTrue(e.getMessage().contains("head_dim 5 must be even"), e.getMessage());
        e = assertThrows(KernelException.class, () -> cpu.createModel(TINY, 0, 1));
        assertTrue(e.getMessage().contains("max_slots (0)"), e.getMessage());
    }

    @Test
    void kvCacheInBf16ForQuantizedWeightsOnTheCpuAndAnyTypeWhenAsked() {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        assertEquals(KvDtype.F32, cpu.kvDtype(WeightStorage.F32));
        assertEquals(KvDtype.BF16, cpu.kvDtype(WeightStorage.BF16));
        assertEquals(KvDtype.BF16, cpu.kvDtype(WeightStorage.INT8));
        assertEquals(KvDtype.BF16, cpu.kvDtype(WeightStorage.INT8, null), "auto");
        assertEquals(KvDtype.INT8, cpu.kvDtype(WeightStorage.F32, KvDtype.INT8), "asked for");
        for (KvDtype kv : KvDtype.values()) {
            try (NativeModel m = cpu.createModel(TINY, new ModelOptions(2, 1, 0, 16, WeightStorage.F32, kv))) {
                assertEquals(kv, m.kvDtype());
            }
        }
    }

    @Test
    void attentionAloneIsTimedForEveryKvCacheType() {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        for (KvDtype kv : KvDtype.values()) {
            double decode = cpu.attentionNanos(kv, 2, 40, 1, 2, 2, 24, 1);
            double prompt = cpu.attentionNanos(kv, 1, 40, 40, 2, 2, 24, 1);
            assertTrue(decode > 0 && Double.isFinite(decode), kv + " decode: " + decode);
            assertTrue(prompt > 0 && Double.isFinite(prompt), kv + " prompt rows: " + prompt);
        }
        for (int[] bad : new int[][] {{0, 40, 1}, {1, 40, 0}, {1, 40, 41}}) {
            KernelException e = assertThrows(KernelException.class,
                    () -> cpu.attentionNanos(KvDtype.F32, bad[0], bad[1], bad[2], 2, 2, 24, 1));
            assertTrue(e.getMessage().contains("wk_bench_attention: bad arguments"), e.getMessage());
        }
    }

    @Test
    void kvBytesPerPositionCountTheInt8Scales() {
        assertEquals(2L * 6 * 6 * 48 * 4, KvDtype.F32.bytesPerPosition(6, 6, 48));
        assertEquals(2L * 6 * 6 * 48 * 2, KvDtype.BF16.bytesPerPosition(6, 6, 48));
        assertEquals(2L * 6 * 6 * (48 + 4), KvDtype.INT8.bytesPerPosition(6, 6, 48));
    }

    @Test
    void forwardBeforeEveryTensorIsSetAndBadUploads() {
        KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
        try (NativeModel m = cpu.createModel(TINY, 1, 4); Arena arena = Arena.ofConfined()) {
            MemorySegment tokens = arena.allocateFrom(ValueLayout.JAVA_INT, 1, 2);
            MemorySegment logits = arena.allocate(ValueLayout.JAVA_FLOAT, 40);
            KernelException e = assertThrows(KernelException.class, () -> m.forward(0, tokens, 2, 0, logits));
            assertEquals("WK_ERR_STATE", e.statusName());
            assertTrue(e.getMessage().contains("tensor TOK_EMBEDDINGS was never set"), e.getMessage());

            // upload everything but one layer of W_DOWN
            for (WeightTensor t : WeightTensor.values())
                for (int l = t.perLayer() ? 0 : -1; l < (t.perLayer() ? 2 : 0); l++) {
                    if (t == WeightTensor.W_DOWN && l == 1) continue;
                    long n = elements(t);
                    m.setTensor(t, l, arena.allocate(ValueLayout.JAVA_FLOAT, n), DType.F32, n);
                }
            e = assertThrows(KernelException.class, () -> m.forward(0, tokens, 2, 0, logits));
            assertTrue(e.getMessage().contains("tensor W_DOWN of layer 1 was never set"), e.getMessage());

            MemorySegment wd = arena.allocate(ValueLayout.JAVA_FLOAT, elements(WeightTensor.W_DOWN));
            e = assertThrows(KernelException.class, () -> m.setTensor(WeightTensor.W_DOWN, 2, wd, DType.F32, elements(WeightTensor.W_DOWN)));
            assertTrue(e.getMessage().contains("layer 2 out of range [0, 2)"), e.getMessage());
            e = assertThrows(KernelException.class, () -> m.setTensor(WeightTensor.W_DOWN, 1, wd, DType.F32, 10));
            assertTrue(e.getMessage().contains("expected 512 elements (16 x 32), got 10"), e.getMessage());
            e = assertThrows(KernelException.class, () -> m.setTensor(WeightTensor.FINAL_NORM, 0, wd, DType.F32, 16));
            assertTrue(e.getMessage().contains("global tensor needs layer -1"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> m.setTensor(WeightTensor.W_DOWN, 1, arena.allocate(8), DType.F32, elements(WeightTensor.W_DOWN)));
            m.setTensor(WeightTensor.W_DOWN, 1, wd, DType.BF16, elements(WeightTensor.W_DOWN));

            m.forward(0, tokens, 2, 0, logits); // all weights zero: logits are zero
            for (int i = 0; i < 40; i++) assertEquals(0f, logits.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        }
    }

    @Test
    void tiedModelRejectsAnLmHead() {
        KernelConfig tied = new KernelConfig(16, 32, 1, 4, 2, 4, 40, 8, 1e-5f, 1e4f, true);
        try (NativeModel m = KernelLibrary.load(Backend.CPU).createModel(tied, 1, 1); Arena arena = Arena.ofConfined()) {
            KernelException e = assertThrows(KernelException.class,
                    () -> m.setTensor(WeightTensor.LM_HEAD, -1, arena.allocate(40 * 16 * 4), DType.F32, 40 * 16));
            assertTrue(e.getMessage().contains("tied embeddings"), e.getMessage());
        }
    }

    @Test
    void closedModelThrows() {
        NativeModel m = KernelLibrary.load(Backend.CPU).createModel(TINY, 1, 1);
        m.close();
        m.close(); // idempotent
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalStateException.class,
                    () -> m.forward(0, arena.allocate(4), 1, 0, arena.allocate(ValueLayout.JAVA_FLOAT, 40)));
        }
    }

    private static long elements(WeightTensor t) {
        long n = 1;
        for (long d : t.shape(TINY)) n *= d;
        return n;
    }
}

package io.weir.worker.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * One loaded kernel library (CPU or CUDA backend of {@code weir_kernels.h}). Libraries are loaded
 * once per JVM into the global arena and never unloaded; {@link #load(Backend)} returns the same
 * instance every time. Use {@link BackendSelector#select()} to pick a backend the configured way.
 *
 * <p>Errors: a non-zero status becomes a {@link KernelException} carrying {@code wk_last_error()}.
 * The C message is thread-local, so it is read on the calling thread right after the failing call,
 * with nothing in between that could block (a virtual thread only changes carrier when it blocks).
 */
public final class KernelLibrary {
    /**
     * The CPU backend's SIMD paths, numbered 0 until this for the test hooks: scalar, AVX2, AVX-512, AVX512_BF16,
     * AVX512_VNNI, AMX, and AMX on a C model of the tile instructions (weir_kernels.h).
     */
    public static final int CPU_PATHS = 7;

    private static final Map<Backend, KernelLibrary> LOADED = new EnumMap<>(Backend.class);

    private final Backend backend;
    private final Path path;
    // function addresses in this library (see WeirNative for the handles)
    private final MemorySegment backendName, deviceCount, lastError, backendInfo, modelCreate, modelSetTensor, modelFree,
            forward, forwardBatch, testMatmul, modelCreateEx, modelKvInfo, forwardPaged, benchReadBandwidth, benchFmaPeak, benchAttention,
            testGemm, testGemmArgmax, testAttention, testPool;

    private KernelLibrary(Backend backend, Path path) {
        this.backend = backend;
        this.path = path;
        SymbolLookup lookup = SymbolLookup.libraryLookup(path, Arena.global());
        backendName = WeirNative.find(lookup, WeirNative.wk_backend_name.NAME);
        deviceCount = WeirNative.find(lookup, WeirNative.wk_device_count.NAME);
        lastError = WeirNative.find(lookup, WeirNative.wk_last_error.NAME);
        backendInfo = WeirNative.find(lookup, WeirNative.wk_backend_info.NAME);
        modelCreate = WeirNative.find(lookup, WeirNative.wk_model_create.NAME);
        modelSetTensor = WeirNative.find(lookup, WeirNative.wk_model_set_tensor.NAME);
        modelFree = WeirNative.find(lookup, WeirNative.wk_model_free.NAME);
        forward = WeirNative.find(lookup, WeirNative.wk_forward.NAME);
        forwardBatch = WeirNative.find(lookup, WeirNative.wk_forward_batch.NAME);
        testMatmul = WeirNative.find(lookup, WeirNative.wk_test_matmul.NAME);
        modelCreateEx = WeirNative.find(lookup, WeirNative.wk_model_create_ex.NAME);
        modelKvInfo = WeirNative.find(lookup, WeirNative.wk_model_kv_info.NAME);
        forwardPaged = WeirNative.find(lookup, WeirNative.wk_forward_paged.NAME);
        benchReadBandwidth = WeirNative.find(lookup, WeirNative.wk_bench_read_bandwidth.NAME);
        benchFmaPeak = WeirNative.find(lookup, WeirNative.wk_bench_fma_peak.NAME);
        benchAttention = WeirNative.find(lookup, WeirNative.wk_bench_attention.NAME);
        testGemm = WeirNative.find(lookup, WeirNative.wk_test_gemm.NAME);
        testGemmArgmax = WeirNative.find(lookup, WeirNative.wk_test_gemm_argmax.NAME);
        testAttention = WeirNative.find(lookup, WeirNative.wk_test_attention.NAME);
        testPool = WeirNative.find(lookup, WeirNative.wk_test_pool.NAME);
    }

    /**
     * Loads (once) the library of {@code backend}.
     *
     * @throws IllegalStateException when this build has no such library (CUDA is built only where nvcc exists)
     * @throws IllegalArgumentException when the dynamic loader cannot open it
     */
    public static synchronized KernelLibrary load(Backend backend) {
        KernelLibrary lib = LOADED.get(backend);
        if (lib == null) {
            Path path = NativeLibraryLocator.locate(backend).orElseThrow(() -> new IllegalStateException(
                    backend.libraryFile() + " not found (" + NativeLibraryLocator.searchedWhere(backend) + ")"
                            + (backend == Backend.CUDA ? "; it is built only where nvcc is on PATH" : "")));
            lib = new KernelLibrary(backend, path);
            LOADED.put(backend, lib);
        }
        return lib;
    }

    public Backend backend() {
        return backend;
    }

    /**
     * The KV-cache element type for weights stored as {@code storage} unless one is asked for
     * ({@code --kv-cache-dtype}): on the CPU, bf16 when the weights are quantized (half the bytes attention streams,
     * an error well inside the quantization's), else f32 (the golden outputs exactly); CUDA keeps f32. int8
     * ({@link KvDtype#INT8}) is only ever asked for: it doubles the W8A8 model's divergence from f32 on the golden
     * prompts (BENCHMARKS.md) for attention 1.5-1.65x faster, which pays with long contexts.
     */
    public KvDtype kvDtype(WeightStorage storage) {
        return backend == Backend.CPU && storage != WeightStorage.F32 ? KvDtype.BF16 : KvDtype.F32;
    }

    /** {@code asked} ({@code --kv-cache-dtype}), or when it is null (auto) this library's choice for the storage. */
    public KvDtype kvDtype(WeightStorage storage, KvDtype asked) {
        return asked != null ? asked : kvDtype(storage);
    }

    /** The file this library was loaded from. */
    public Path path() {
        return path;
    }

    /** {@code wk_backend_name()}: "cpu" or "cuda". */
    public String name() {
        try {
            return cString((MemorySegment) WeirNative.wk_backend_name.HANDLE.invokeExact(backendName));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code wk_device_count()}: 1 for the CPU; the CUDA device count, 0 when there is none or no driver. */
    public int deviceCount() {
        try {
            return (int) WeirNative.wk_device_count.HANDLE.invokeExact(deviceCount);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code wk_last_error()} of the calling thread. */
    public String lastError() {
        try {
            return cString((MemorySegment) WeirNative.wk_last_error.HANDLE.invokeExact(lastError));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code wk_backend_info()}: one line for logs (SIMD path and threads, or the GPU). */
    public String info() {
        try {
            return cString((MemorySegment) WeirNative.wk_backend_info.HANDLE.invokeExact(backendInfo));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Creates a model: weights storage, activations for {@code maxBatch} rows and a KV cache of
     * {@code maxSlots} sequences of {@code config.maxSeqLen()} positions. Upload every weight with
     * {@link NativeModel#setTensor} before running it.
     */
    public NativeModel createModel(KernelConfig config, int maxSlots, int maxBatch) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) WeirNative.wk_model_create.HANDLE.invokeExact(
                    modelCreate, config.toSegment(arena), maxSlots, maxBatch, out);
            check(rc);
            return new NativeModel(this, out.get(ADDRESS, 0), config, ModelOptions.slots(maxSlots, maxBatch));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Creates a model with every size given ({@code wk_model_create_ex}): see {@link ModelOptions}. */
    public NativeModel createModel(KernelConfig config, ModelOptions options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) WeirNative.wk_model_create_ex.HANDLE.invokeExact(
                    modelCreateEx, config.toSegment(arena), options.toSegment(arena), out);
            check(rc);
            return new NativeModel(this, out.get(ADDRESS, 0), config, options);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Read bandwidth in GB/s over a buffer of {@code bytes}, every kernel thread reading; best of {@code reps}. */
    public double readBandwidth(long bytes, int reps) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_DOUBLE);
            check((int) WeirNative.wk_bench_read_bandwidth.HANDLE.invokeExact(benchReadBandwidth, bytes, reps, out));
            return out.get(JAVA_DOUBLE, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Attention alone on one thread (CPU backend): {@code rows} sequences of {@code positions} each over a KV cache of
     * {@code kv} elements, every layer and kv head, each queried by the rows at its last {@code queryRows} positions
     * (1: a decode step; more: a prompt chunk's rows, served together as a step serves them); ns per position a row
     * attends to and kv head, best of {@code reps}.
     */
    public double attentionNanos(KvDtype kv, int rows, int positions, int queryRows, int layers, int kvHeads, int headDim,
            int reps) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_DOUBLE);
            check((int) WeirNative.wk_bench_attention.HANDLE.invokeExact(benchAttention, kv.code(), rows, positions, queryRows,
                    layers, kvHeads, headDim, reps, out));
            return out.get(JAVA_DOUBLE, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Peak FP32 FMA rate in GFLOP/s over every kernel thread, measured for about {@code millis} ms. */
    public double fmaPeak(int millis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_DOUBLE);
            check((int) WeirNative.wk_bench_fma_peak.HANDLE.invokeExact(benchFmaPeak, millis, out));
            return out.get(JAVA_DOUBLE, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Test hook {@code wk_test_gemm}: {@code out[m, d] = x[m, n] · W[d, n]^T} through the batched product with W
     * stored as {@code storage}, on SIMD path {@code path}. False when this machine cannot run the path.
     */
    public boolean testGemm(int path, WeightStorage storage, float[] out, float[] x, float[] w, int m, int n, int d) {
        if (x.length < (long) m * n || w.length < (long) n * d || out.length < (long) m * d)
            throw new IllegalArgumentException("arrays too short");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(JAVA_FLOAT, (long) m * d);
            int rc = (int) WeirNative.wk_test_gemm.HANDLE.invokeExact(testGemm, path, storage.code(), o,
                    arena.allocateFrom(JAVA_FLOAT, x), arena.allocateFrom(JAVA_FLOAT, w), m, n, d);
            if (rc == WeirNative.WK_ERR_UNSUPPORTED) return false;
            check(rc);
            MemorySegment.copy(o, JAVA_FLOAT, 0, out, 0, m * d);
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Test hook {@code wk_test_gemm_argmax}: each row's greedy token of the product {@link #testGemm} computes, the way a
     * step that stores no logits finds it. False when this machine or backend cannot run it.
     */
    public boolean testGemmArgmax(int path, WeightStorage storage, int[] argmax, float[] x, float[] w, int m, int n, int d) {
        if (x.length < (long) m * n || w.length < (long) n * d || argmax.length < m)
            throw new IllegalArgumentException("arrays too short");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(JAVA_INT, m);
            int rc = (int) WeirNative.wk_test_gemm_argmax.HANDLE.invokeExact(testGemmArgmax, path, storage.code(), o,
                    arena.allocateFrom(JAVA_FLOAT, x), arena.allocateFrom(JAVA_FLOAT, w), m, n, d);
            if (rc == WeirNative.WK_ERR_UNSUPPORTED) return false;
            check(rc);
            MemorySegment.copy(o, JAVA_INT, 0, argmax, 0, m);
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Test hook {@code wk_test_attention}: paged causal attention of the queries at the last {@code nRows} of
     * {@code nPos} positions (a prompt chunk's rows; {@code q} and {@code out} hold {@code nRows × nHeads·headDim})
     * over dense keys and values {@code k}, {@code v} ({@code nPos × nKvHeads·headDim}) stored as {@code kvDtype} in
     * the blocks {@code table}. False when this machine cannot run the path or this backend has no such KV cache.
     */
    public boolean testAttention(int path, KvDtype kvDtype, int nHeads, int nKvHeads, int headDim, int blockSize, int nPos,
            int nRows, int[] table, float[] q, float[] k, float[] v, float[] out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(JAVA_FLOAT, (long) nRows * nHeads * headDim);
            int rc = (int) WeirNative.wk_test_attention.HANDLE.invokeExact(testAttention, path, kvDtype.code(), nHeads,
                    nKvHeads, headDim, blockSize, nPos, nRows, arena.allocateFrom(JAVA_INT, table),
                    arena.allocateFrom(JAVA_FLOAT, q), arena.allocateFrom(JAVA_FLOAT, k), arena.allocateFrom(JAVA_FLOAT, v), o);
            if (rc == WeirNative.WK_ERR_UNSUPPORTED) return false;
            check(rc);
            MemorySegment.copy(o, JAVA_FLOAT, 0, out, 0, nRows * nHeads * headDim);
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Test hook {@code wk_test_pool}: runs {@code jobs} small jobs on a fresh thread pool of {@code threads} threads.
     *
     * @return the items not run exactly once by their own job (0 when the pool is right), or -1 when this backend
     *         has no thread pool
     */
    public long testPool(int threads, int jobs, int maxItems) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bad = arena.allocate(JAVA_LONG);
            int rc = (int) WeirNative.wk_test_pool.HANDLE.invokeExact(testPool, threads, jobs, maxItems, bad);
            if (rc == WeirNative.WK_ERR_UNSUPPORTED) return -1;
            check(rc);
            return bad.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Test hook {@code wk_test_matmul}: {@code out[d] = W[d,n] · x[n]} through matmul path {@code path}
     * (0 = scalar reference; CPU 1 = AVX2, 2 = AVX-512; CUDA 1 = device kernel).
     *
     * @return false when this machine cannot run that path
     */
    public boolean testMatmul(int path, float[] out, float[] x, float[] w, int n, int d) {
        if (x.length < n || w.length < (long) n * d || out.length < d) throw new IllegalArgumentException("arrays too short");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(JAVA_FLOAT, d);
            int rc = (int) WeirNative.wk_test_matmul.HANDLE.invokeExact(
                    testMatmul, path, o, arena.allocateFrom(JAVA_FLOAT, x), arena.allocateFrom(JAVA_FLOAT, w), n, d);
            if (rc == WeirNative.WK_ERR_UNSUPPORTED) return false;
            check(rc);
            MemorySegment.copy(o, JAVA_FLOAT, 0, out, 0, d);
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public String toString() {
        return "KernelLibrary[" + backend.id() + ", " + path + "]";
    }

    // ------------------------------------------------------------------------------------------------
    // Used by NativeModel

    int setTensor(MemorySegment model, int tensor, int layer, MemorySegment data, int dtype, long n) throws Throwable {
        return (int) WeirNative.wk_model_set_tensor.HANDLE.invokeExact(modelSetTensor, model, tensor, layer, data, dtype, n);
    }

    int forward(MemorySegment model, int slot, MemorySegment tokens, int nTokens, int startPos, MemorySegment logits)
            throws Throwable {
        return (int) WeirNative.wk_forward.HANDLE.invokeExact(forward, model, slot, tokens, nTokens, startPos, logits);
    }

    int forwardBatch(MemorySegment model, int nRows, MemorySegment slots, MemorySegment tokens, MemorySegment positions,
            MemorySegment logits) throws Throwable {
        return (int) WeirNative.wk_forward_batch.HANDLE.invokeExact(forwardBatch, model, nRows, slots, tokens, positions, logits);
    }

    int forwardPaged(MemorySegment model, int nRows, MemorySegment tokens, MemorySegment positions, MemorySegment rowSeq,
            int nSeqs, MemorySegment tables, int stride, int nLogits, MemorySegment logitRows, MemorySegment logits,
            MemorySegment argmax) throws Throwable {
        return (int) WeirNative.wk_forward_paged.HANDLE.invokeExact(forwardPaged, model, nRows, tokens, positions, rowSeq,
                nSeqs, tables, stride, nLogits, logitRows, logits, argmax);
    }

    int kvInfo(MemorySegment model, MemorySegment nBlocks, MemorySegment blockSize) throws Throwable {
        return (int) WeirNative.wk_model_kv_info.HANDLE.invokeExact(modelKvInfo, model, nBlocks, blockSize);
    }

    void free(MemorySegment model) throws Throwable {
        WeirNative.wk_model_free.HANDLE.invokeExact(modelFree, model);
    }

    /** Throws {@link KernelException} with this thread's {@code wk_last_error()} if {@code rc} is not WK_OK. */
    void check(int rc) {
        if (rc != WeirNative.WK_OK) throw new KernelException(rc, lastError());
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }

    private static String cString(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? "" : p.reinterpret(Long.MAX_VALUE).getString(0);
    }
}

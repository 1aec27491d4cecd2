package io.weir.worker.kernels;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A {@code wk_model} handle: weights, activation buffers and KV cache in the backend's memory.
 * Not thread-safe: one thread (the engine thread) drives a model. {@link #close()} frees it; later
 * calls throw {@link IllegalStateException}.
 *
 * <p>The segment arguments must be native memory (off-heap); their sizes are checked here so a short
 * buffer is a Java exception, never a native overrun. Everything else (slot and position ranges,
 * token ids, missing weights) is checked by the library and reported as {@link KernelException}.
 */
public final class NativeModel implements AutoCloseable {
    private final KernelLibrary library;
    private final KernelConfig config;
    private final ModelOptions options;
    private final int nBlocks;
    private final int blockSize;
    private MemorySegment handle;

    NativeModel(KernelLibrary library, MemorySegment handle, KernelConfig config, ModelOptions options) {
        this.library = library;
        this.handle = handle;
        this.config = config;
        this.options = options;
        try (Arena arena = Arena.ofConfined()) { // the library fills in defaults: ask it
            MemorySegment n = arena.allocate(JAVA_INT), bs = arena.allocate(JAVA_INT);
            library.check(library.kvInfo(handle, n, bs));
            this.nBlocks = n.get(JAVA_INT, 0);
            this.blockSize = bs.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw KernelLibrary.rethrow(t);
        }
    }

    public KernelLibrary library() {
        return library;
    }

    public KernelConfig config() {
        return config;
    }

    public int maxSlots() {
        return options.maxSlots();
    }

    public int maxBatch() {
        return options.maxBatch();
    }

    public WeightStorage storage() {
        return options.storage();
    }

    public KvDtype kvDtype() {
        return options.kvDtype();
    }

    /** KV-cache blocks. */
    public int kvBlocks() {
        return nBlocks;
    }

    /** Positions per KV block. */
    public int kvBlockSize() {
        return blockSize;
    }

    /**
     * Uploads one weight tensor ({@code layer} 0..n_layers-1 for per-layer tensors, -1 for global ones).
     * {@code data} holds {@code nElements} values of {@code dtype}; it may be released afterwards.
     */
    public void setTensor(WeightTensor tensor, int layer, MemorySegment data, DType dtype, long nElements) {
        requireSize("data", data, nElements * dtype.bytes());
        try {
            library.check(library.setTensor(handle(), tensor.id(), layer, data, dtype.code(), nElements));
        } catch (Throwable t) {
            throw KernelLibrary.rethrow(t);
        }
    }

    /**
     * {@code wk_forward}: runs {@code nTokens} int32 tokens of one sequence at positions {@code startPos..}
     * into {@code slot}'s KV cache and writes the last token's {@code vocabSize} float logits.
     */
    public void forward(int slot, MemorySegment tokens, int nTokens, int startPos, MemorySegment logits) {
        requireSize("tokens", tokens, 4L * Math.max(nTokens, 0));
        requireSize("logits", logits, 4L * config.vocabSize());
        try {
            library.check(library.forward(handle(), slot, tokens, nTokens, startPos, logits));
        } catch (Throwable t) {
            throw KernelLibrary.rethrow(t);
        }
    }

    /**
     * {@code wk_forward_batch}: row i is {@code tokens[i]} at {@code positions[i]} of {@code slots[i]}
     * (int32 arrays of {@code nRows}); writes {@code nRows × vocabSize} float logits.
     */
    public void forwardBatch(int nRows, MemorySegment slots, MemorySegment tokens, MemorySegment positions,
            MemorySegment logits) {
        long n = Math.max(nRows, 0);
        requireSize("slots", slots, 4 * n);
        requireSize("tokens", tokens, 4 * n);
        requireSize("positions", positions, 4 * n);
        requireSize("logits", logits, 4 * n * config.vocabSize());
        try {
            library.check(library.forwardBatch(handle(), nRows, slots, tokens, positions, logits));
        } catch (Throwable t) {
            throw KernelLibrary.rethrow(t);
        }
    }

    /**
     * {@code wk_forward_paged}: row i is {@code tokens[i]} at {@code positions[i]} of sequence {@code rowSeq[i]},
     * whose blocks are {@code tables[rowSeq[i] * stride ..]}; writes the logits of rows {@code logitRows[0..nLogits)}
     * ({@code nLogits × vocabSize} floats) and, unless {@code argmax} is {@link MemorySegment#NULL}, each such row's
     * greedy token ({@code nLogits} int32); with {@code argmax} given, {@code logits} may be {@link MemorySegment#NULL}
     * (only the greedy tokens are wanted). All arrays int32 except the logits.
     */
    public void forwardPaged(int nRows, MemorySegment tokens, MemorySegment positions, MemorySegment rowSeq, int nSeqs,
            MemorySegment tables, int stride, int nLogits, MemorySegment logitRows, MemorySegment logits,
            MemorySegment argmax) {
        long n = Math.max(nRows, 0);
        requireSize("tokens", tokens, 4 * n);
        requireSize("positions", positions, 4 * n);
        requireSize("rowSeq", rowSeq, 4 * n);
        requireSize("tables", tables, 4L * Math.max(nSeqs, 0) * Math.max(stride, 0));
        requireSize("logitRows", logitRows, 4L * Math.max(nLogits, 0));
        boolean noArgmax = argmax.equals(MemorySegment.NULL);
        if (noArgmax || !logits.equals(MemorySegment.NULL))
            requireSize("logits", logits, 4L * Math.max(nLogits, 0) * config.vocabSize());
        if (!noArgmax) requireSize("argmax", argmax, 4L * Math.max(nLogits, 0));
        try {
            library.check(library.forwardPaged(handle(), nRows, tokens, positions, rowSeq, nSeqs, tables, stride, nLogits,
                    logitRows, logits, argmax));
        } catch (Throwable t) {
            throw KernelLibrary.rethrow(t);
        }
    }

    /** Frees the native model. Idempotent. */
    @Override
    public void close() {
        if (handle == null) return;
        try {
            library.free(handle);
        } catch (Throwable t) {
            throw KernelLibrary.rethrow(t);
        } finally {
            handle = null;
        }
    }

    private MemorySegment handle() {
        if (handle == null) throw new IllegalStateException("model is closed");
        return handle;
    }

    private static void requireSize(String what, MemorySegment s, long bytes) {
        if (!s.isNative()) throw new IllegalArgumentException(what + " must be a native (off-heap) segment");
        if (s.byteSize() < bytes)
            throw new IllegalArgumentException(what + " holds " + s.byteSize() + " bytes, needs " + bytes);
    }
}

package io.weir.worker.model;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.weir.worker.kernels.BackendSelector;
import io.weir.worker.kernels.KernelConfig;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.NativeModel;
import io.weir.worker.kernels.WeightTensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Llama checkpoint loaded into a kernel backend, with a KV cache of {@code maxSlots} sequences.
 * The engine assigns each running sequence a slot and calls {@link #forward} (one sequence: a prompt
 * or its next token) or {@link #forwardBatch} (a continuous-batching step over several slots).
 *
 * <p>Threading: not thread-safe. One engine thread drives a runner; it may be a different thread from
 * the one that loaded it. The hot path copies tokens into and logits out of off-heap buffers
 * allocated once at load; it allocates nothing per call.
 *
 * <p>Weights are copied into the backend at load (f32; F16/BF16 are widened), so the checkpoint files
 * are unmapped once {@link #load} returns.
 */
public final class ModelRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelRunner.class);

    /**
     * Sizes of the native state.
     *
     * @param maxSlots  sequences the KV cache holds (slot ids 0..maxSlots-1)
     * @param maxSeqLen KV positions per slot; 0 means the model's max_position_embeddings
     * @param maxBatch  rows per kernel step: the longest {@link #forwardBatch}, and the prefill chunk
     */
    public record Options(int maxSlots, int maxSeqLen, int maxBatch) {
        public static final int DEFAULT_MAX_BATCH = 64;

        public Options {
            if (maxSlots <= 0 || maxSeqLen < 0 || maxBatch <= 0)
                throw new IllegalArgumentException("bad runner options: maxSlots=" + maxSlots + ", maxSeqLen=" + maxSeqLen
                        + ", maxBatch=" + maxBatch);
        }

        /** {@code maxSlots} slots, the model's full context, batches of {@value #DEFAULT_MAX_BATCH}. */
        public static Options of(int maxSlots) {
            return new Options(maxSlots, 0, DEFAULT_MAX_BATCH);
        }
    }

    private final ModelConfig config;
    private final NativeModel model;
    private final int maxSeqLen;
    private final Arena arena;            // the off-heap buffers below, reused by every call
    private final MemorySegment tokens;   // (max(maxSeqLen, maxBatch)) int32
    private final MemorySegment slots;    // (maxBatch) int32
    private final MemorySegment positions;// (maxBatch) int32
    private final MemorySegment logits;   // (maxBatch, vocabSize) f32

    private ModelRunner(ModelConfig config, NativeModel model, int maxSeqLen) {
        this.config = config;
        this.model = model;
        this.maxSeqLen = maxSeqLen;
        this.arena = Arena.ofShared(); // shared: loaded on one thread, driven by the engine thread
        int b = model.maxBatch();
        this.tokens = arena.allocate(JAVA_INT, Math.max(maxSeqLen, b));
        this.slots = arena.allocate(JAVA_INT, b);
        this.positions = arena.allocate(JAVA_INT, b);
        this.logits = arena.allocate(JAVA_FLOAT, (long) b * config.vocabSize());
    }

    /** Loads {@code checkpointDir} into the backend {@link BackendSelector#select()} picks. */
    public static ModelRunner load(Path checkpointDir, int maxSlots) throws IOException {
        return load(checkpointDir, BackendSelector.select(), Options.of(maxSlots));
    }

    /** Loads {@code checkpointDir} into {@code library}'s backend. */
    public static ModelRunner load(Path checkpointDir, int maxSlots, KernelLibrary library) throws IOException {
        return load(checkpointDir, library, Options.of(maxSlots));
    }

    /**
     * Loads {@code checkpointDir} ({@code config.json}, safetensors shards) into {@code library}'s backend.
     *
     * @throws CheckpointException for unsupported configs and missing, mis-shaped or unsupported tensors
     * @throws io.weir.worker.kernels.KernelException when the backend rejects the model (e.g. out of memory)
     */
    public static ModelRunner load(Path checkpointDir, KernelLibrary library, Options options) throws IOException {
        long t0 = System.nanoTime();
        ModelConfig config = ModelConfig.load(checkpointDir);
        int seqLen = options.maxSeqLen() == 0 ? config.maxSeqLen() : options.maxSeqLen();
        if (seqLen > config.maxSeqLen())
            throw new IllegalArgumentException("maxSeqLen " + seqLen + " exceeds the model's max_position_embeddings "
                    + config.maxSeqLen());
        KernelConfig kc = config.toKernelConfig(seqLen);
        try (Checkpoint ckpt = Checkpoint.open(checkpointDir)) {
            NativeModel model = library.createModel(kc, options.maxSlots(), options.maxBatch());
            try {
                upload(ckpt, kc, model);
                ModelRunner runner = new ModelRunner(config, model, seqLen);
                log.info("loaded {} on {} in {} ms: {} layers, dim {}, vocab {}, {} slots x {} positions", checkpointDir,
                        library.name(), (System.nanoTime() - t0) / 1_000_000, config.nLayers(), config.dim(),
                        config.vocabSize(), options.maxSlots(), seqLen);
                return runner;
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }
    }

    private static void upload(Checkpoint ckpt, KernelConfig kc, NativeModel model) {
        for (WeightTensor t : WeightTensor.values()) {
            if (t == WeightTensor.LM_HEAD && kc.tiedEmbeddings()) continue; // the kernels reuse the embeddings
            for (int layer = t.perLayer() ? 0 : -1; layer < (t.perLayer() ? kc.nLayers() : 0); layer++) {
                Tensor w = ckpt.tensor(HfLlamaNames.of(t, layer), t.shape(kc));
                model.setTensor(t, layer, w.data(), w.dtype(), w.elementCount());
            }
        }
    }

    public ModelConfig config() {
        return config;
    }

    public int maxSlots() {
        return model.maxSlots();
    }

    /** KV positions per slot: a sequence's prompt plus generated tokens must fit. */
    public int maxSeqLen() {
        return maxSeqLen;
    }

    /** Rows per {@link #forwardBatch} call. */
    public int maxBatch() {
        return model.maxBatch();
    }

    /** "cpu" or "cuda". */
    public String backendName() {
        return model.library().name();
    }

    /**
     * Runs {@code tokens} of the sequence in {@code slot} at positions {@code startPos, startPos+1, ...},
     * appending their keys/values to the slot's KV cache, and writes the last token's logits
     * ({@code vocabSize} floats) to {@code logitsOut}. A prompt is one call from position 0; each
     * decode step is one call with one token. {@code startPos} 0 starts a new sequence in the slot;
     * {@code startPos} may not skip positions the slot does not hold yet.
     *
     * @throws io.weir.worker.kernels.KernelException for a bad slot, positions beyond maxSeqLen, a gap, or
     *     token ids outside the vocabulary (the runner stays usable)
     */
    public void forward(int slot, int[] tokens, int startPos, float[] logitsOut) {
        int n = tokens.length;
        checkLogits(logitsOut, 1);
        if (n > this.tokens.byteSize() / 4)
            throw new IllegalArgumentException(n + " tokens exceed maxSeqLen " + maxSeqLen);
        MemorySegment.copy(tokens, 0, this.tokens, JAVA_INT, 0, n);
        model.forward(slot, this.tokens, n, startPos, logits);
        MemorySegment.copy(logits, JAVA_FLOAT, 0, logitsOut, 0, config.vocabSize());
    }

    /**
     * One batched step: row {@code i} is {@code tokens[i]} at position {@code positions[i]} of slot
     * {@code slots[i]}. Rows of one slot must have consecutive positions in order. Writes
     * {@code rows × vocabSize} logits, row-major, to {@code logitsOut}.
     */
    public void forwardBatch(int[] slots, int[] tokens, int[] positions, float[] logitsOut) {
        int n = tokens.length;
        if (slots.length != n || positions.length != n)
            throw new IllegalArgumentException("slots, tokens and positions differ in length: " + slots.length + ", " + n
                    + ", " + positions.length);
        if (n > model.maxBatch()) throw new IllegalArgumentException(n + " rows exceed maxBatch " + model.maxBatch());
        checkLogits(logitsOut, n);
        MemorySegment.copy(slots, 0, this.slots, JAVA_INT, 0, n);
        MemorySegment.copy(tokens, 0, this.tokens, JAVA_INT, 0, n);
        MemorySegment.copy(positions, 0, this.positions, JAVA_INT, 0, n);
        model.forwardBatch(n, this.slots, this.tokens, this.positions, logits);
        MemorySegment.copy(logits, JAVA_FLOAT, 0, logitsOut, 0, n * config.vocabSize());
    }

    private void checkLogits(float[] logitsOut, int rows) {
        if (logitsOut.length < (long) rows * config.vocabSize())
            throw new IllegalArgumentException("logitsOut holds " + logitsOut.length + " floats, needs " + rows + " x "
                    + config.vocabSize());
    }

    /** Frees the native model and the buffers. Idempotent. */
    @Override
    public void close() {
        model.close();
        if (arena.scope().isAlive()) arena.close();
    }
}

package io.weir.worker.model;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.weir.worker.kernels.BackendSelector;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.KernelConfig;
import io.weir.worker.kernels.KernelLibrary;
import io.weir.worker.kernels.ModelOptions;
import io.weir.worker.kernels.NativeModel;
import io.weir.worker.kernels.WeightStorage;
import io.weir.worker.kernels.WeightTensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Llama checkpoint loaded into a kernel backend, with its KV cache. Two ways to drive it:
 * <ul>
 *   <li>paged (the engine): the KV cache is a pool of blocks; the caller owns the blocks and passes each
 *       sequence's block table with every {@link #forwardPaged} step;</li>
 *   <li>slots (tests, tools): {@code maxSlots} sequences with fixed blocks, through {@link #forward} (one
 *       sequence: a prompt or its next token) or {@link #forwardBatch} (several slots in one step).</li>
 * </ul>
 *
 * <p>Threading: not thread-safe. One engine thread drives a runner; it may be a different thread from
 * the one that loaded it. The hot path copies tokens into and logits out of off-heap buffers
 * allocated once at load; it allocates nothing per call.
 *
 * <p>Weights are copied into the backend at load (F32, F16 or BF16 checkpoints; stored as f32, bf16 or
 * int8 per {@link Options#storage()}), so the checkpoint files are unmapped once {@link #load} returns.
 */
public final class ModelRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ModelRunner.class);

    /**
     * Sizes of the native state.
     *
     * @param maxSlots  sequences of the slot API (slot ids 0..maxSlots-1); 0 for the paged API only
     * @param maxSeqLen KV positions per sequence; 0 means the model's max_position_embeddings
     * @param maxBatch  rows (tokens) per kernel step: the longest batch, and the prefill chunk
     * @param kvBlocks  KV-cache blocks of the paged API; 0 with slots: exactly the slots' blocks
     * @param blockSize positions per KV block (a multiple of 16)
     * @param storage   how the projection and LM-head weights are stored ({@code --quantize})
     * @param kvDtype   the KV cache's elements ({@code --kv-cache-dtype}); null: the library's choice for the storage
     */
    public record Options(int maxSlots, int maxSeqLen, int maxBatch, int kvBlocks, int blockSize, WeightStorage storage,
                          KvDtype kvDtype) {
        public static final int DEFAULT_MAX_BATCH = 64;

        /** The KV cache's elements are the library's choice for the storage ({@link KernelLibrary#kvDtype}). */
        public Options(int maxSlots, int maxSeqLen, int maxBatch, int kvBlocks, int blockSize, WeightStorage storage) {
            this(maxSlots, maxSeqLen, maxBatch, kvBlocks, blockSize, storage, null);
        }

        public Options {
            if (maxSlots < 0 || maxSeqLen < 0 || maxBatch <= 0 || kvBlocks < 0 || blockSize <= 0 || storage == null
                    || (maxSlots == 0 && kvBlocks == 0))
                throw new IllegalArgumentException("bad runner options: maxSlots=" + maxSlots + ", maxSeqLen=" + maxSeqLen
                        + ", maxBatch=" + maxBatch + ", kvBlocks=" + kvBlocks + ", blockSize=" + blockSize + ", storage="
                        + storage);
        }

        /** Slots only, f32 weights. */
        public Options(int maxSlots, int maxSeqLen, int maxBatch) {
            this(maxSlots, maxSeqLen, maxBatch, 0, ModelOptions.DEFAULT_BLOCK_SIZE, WeightStorage.F32);
        }

        /** {@code maxSlots} slots, the model's full context, batches of {@value #DEFAULT_MAX_BATCH}. */
        public static Options of(int maxSlots) {
            return new Options(maxSlots, 0, DEFAULT_MAX_BATCH);
        }

        /** The paged API only: a pool of {@code kvBlocks} blocks. */
        public static Options paged(int maxSeqLen, int maxBatch, int kvBlocks, int blockSize, WeightStorage storage) {
            return new Options(0, maxSeqLen, maxBatch, kvBlocks, blockSize, storage);
        }

        /** The same with the KV cache's elements given (null: the library's choice). */
        public Options withKvDtype(KvDtype kv) {
            return new Options(maxSlots, maxSeqLen, maxBatch, kvBlocks, blockSize, storage, kv);
        }

        ModelOptions toModelOptions(KernelLibrary library) {
            return new ModelOptions(maxBatch, maxSlots, kvBlocks, blockSize, storage, library.kvDtype(storage, kvDtype));
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
    private final MemorySegment rowSeq;   // (maxBatch) int32, paged steps
    private final MemorySegment tables;   // (maxBatch, tableStride) int32, paged steps
    private final MemorySegment logitRows;// (maxBatch) int32, paged steps
    private final MemorySegment argmax;   // (maxBatch) int32, paged steps: each logit row's greedy token
    private final int tableStride;        // blocks of a maxSeqLen sequence
    private boolean logitsStored;         // whether the last paged step stored its logits (not only greedy tokens)

    private ModelRunner(ModelConfig config, NativeModel model, int maxSeqLen) {
        this.config = config;
        this.model = model;
        this.maxSeqLen = maxSeqLen;
        this.arena = Arena.ofShared(); // shared: loaded on one thread, driven by the engine thread
        int b = model.maxBatch();
        this.tableStride = (maxSeqLen + model.kvBlockSize() - 1) / model.kvBlockSize();
        this.tokens = arena.allocate(JAVA_INT, Math.max(maxSeqLen, b));
        this.slots = arena.allocate(JAVA_INT, b);
        this.positions = arena.allocate(JAVA_INT, b);
        this.logits = arena.allocate(JAVA_FLOAT, (long) b * config.vocabSize());
        this.rowSeq = arena.allocate(JAVA_INT, b);
        this.tables = arena.allocate(JAVA_INT, (long) b * tableStride);
        this.logitRows = arena.allocate(JAVA_INT, b);
        this.argmax = arena.allocate(JAVA_INT, b);
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
            NativeModel model = library.createModel(kc, options.toModelOptions(library));
            try {
                upload(ckpt, kc, model);
                ModelRunner runner = new ModelRunner(config, model, seqLen);
                log.info("loaded {} on {} in {} ms: {} layers, dim {}, vocab {}, {} weights, {} KV cache {} blocks x {} positions",
                        checkpointDir, library.name(), (System.nanoTime() - t0) / 1_000_000, config.nLayers(), config.dim(),
                        config.vocabSize(), options.storage(), model.kvDtype(), model.kvBlocks(), model.kvBlockSize());
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

    /** KV-cache blocks in the pool. */
    public int kvBlocks() {
        return model.kvBlocks();
    }

    /** Positions per KV block. */
    public int kvBlockSize() {
        return model.kvBlockSize();
    }

    /** Entries of one sequence's block table in {@link #forwardPaged}: the blocks of a maxSeqLen sequence. */
    public int tableStride() {
        return tableStride;
    }

    public WeightStorage storage() {
        return model.storage();
    }

    /**
     * KV-cache elements: the ones asked for, else F32, or BF16 on the CPU with quantized weights
     * ({@link KernelLibrary#kvDtype}).
     */
    public KvDtype kvDtype() {
        return model.kvDtype();
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

    /**
     * One paged step (continuous batching over the block pool): row {@code i} is {@code tokens[i]} at
     * {@code positions[i]} of sequence {@code rowSeq[i]} (0..nSeqs-1), whose block table is
     * {@code tables[rowSeq[i] * tableStride() ..]}. Computes the logits of rows {@code logitRows[0..nLogits)};
     * read them with {@link #logitsOf}, or just their greedy tokens with {@link #argmaxOf}. The arrays may be longer
     * than the counts.
     *
     * @throws io.weir.worker.kernels.KernelException for rows the library rejects (bad block ids, positions)
     */
    public void forwardPaged(int nRows, int[] tokens, int[] positions, int[] rowSeq, int nSeqs, int[] tables, int nLogits,
            int[] logitRows) {
        forwardPaged(nRows, tokens, positions, rowSeq, nSeqs, tables, nLogits, logitRows, false);
    }

    /**
     * {@link #forwardPaged(int, int[], int[], int[], int, int[], int, int[])}, where {@code greedyOnly} says only
     * {@link #argmaxOf} will be read: the logits are then not stored at all (the CPU backend keeps each 32-column
     * panel's maximum instead of writing and re-reading {@code nLogits × vocabSize} floats), and {@link #logitsOf}
     * refuses until the next step that stores them.
     */
    public void forwardPaged(int nRows, int[] tokens, int[] positions, int[] rowSeq, int nSeqs, int[] tables, int nLogits,
            int[] logitRows, boolean greedyOnly) {
        if (nRows > model.maxBatch()) throw new IllegalArgumentException(nRows + " rows exceed maxBatch " + model.maxBatch());
        if (nSeqs > nRows || nLogits > nRows) throw new IllegalArgumentException("more sequences or logit rows than rows");
        MemorySegment.copy(tokens, 0, this.tokens, JAVA_INT, 0, nRows);
        MemorySegment.copy(positions, 0, this.positions, JAVA_INT, 0, nRows);
        MemorySegment.copy(rowSeq, 0, this.rowSeq, JAVA_INT, 0, nRows);
        MemorySegment.copy(tables, 0, this.tables, JAVA_INT, 0, nSeqs * tableStride);
        MemorySegment.copy(logitRows, 0, this.logitRows, JAVA_INT, 0, nLogits);
        logitsStored = false; // until the step succeeds
        model.forwardPaged(nRows, this.tokens, this.positions, this.rowSeq, nSeqs, this.tables, tableStride, nLogits,
                this.logitRows, greedyOnly ? MemorySegment.NULL : logits, argmax);
        logitsStored = !greedyOnly;
    }

    /**
     * The greedy token of the {@code i}-th logit row of the last {@link #forwardPaged} step: the first index of its
     * largest logit, as {@link io.weir.worker.sampling.Sampler#argmax} chooses, without copying the row.
     */
    public int argmaxOf(int i) {
        return argmax.getAtIndex(JAVA_INT, i);
    }

    /** Copies the logits of the {@code i}-th logit row of the last {@link #forwardPaged} step into {@code out}. */
    public void logitsOf(int i, float[] out) {
        if (!logitsStored) throw new IllegalStateException("the last paged step stored no logits (greedy tokens only)");
        checkLogits(out, 1);
        MemorySegment.copy(logits, JAVA_FLOAT, (long) i * config.vocabSize() * 4, out, 0, config.vocabSize());
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

package io.weir.worker.kernels;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * Sizes of a model's native state: the Java side of {@code wk_options}. Validated in C.
 *
 * @param maxBatch  rows (tokens) per forward step
 * @param maxSlots  sequences of the slot API ({@link NativeModel#forward}); 0 for the paged API only
 * @param nBlocks   KV-cache blocks; 0 means exactly enough for the slots
 * @param blockSize positions per KV block (a multiple of 16); 0 means 16
 * @param storage   how projection and LM-head weights are stored
 * @param kvDtype   KV-cache elements: F32, or BF16 or INT8 (CPU backend); see {@link KernelLibrary#kvDtype}
 */
public record ModelOptions(int maxBatch, int maxSlots, int nBlocks, int blockSize, WeightStorage storage, KvDtype kvDtype) {
    public static final int DEFAULT_BLOCK_SIZE = 16;

    public ModelOptions {
        if (storage == null || kvDtype == null) throw new IllegalArgumentException("storage or kvDtype is null");
    }

    /** {@code maxSlots} slots of the slot API, each with its own blocks; f32 weights and KV cache. */
    public static ModelOptions slots(int maxSlots, int maxBatch) {
        return new ModelOptions(maxBatch, maxSlots, 0, DEFAULT_BLOCK_SIZE, WeightStorage.F32, KvDtype.F32);
    }

    static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("max_batch"),
            JAVA_INT.withName("max_slots"),
            JAVA_INT.withName("n_blocks"),
            JAVA_INT.withName("block_size"),
            JAVA_INT.withName("weight_dtype"),
            JAVA_INT.withName("kv_dtype"));

    MemorySegment toSegment(Arena arena) {
        MemorySegment s = arena.allocate(LAYOUT);
        s.setAtIndex(JAVA_INT, 0, maxBatch);
        s.setAtIndex(JAVA_INT, 1, maxSlots);
        s.setAtIndex(JAVA_INT, 2, nBlocks);
        s.setAtIndex(JAVA_INT, 3, blockSize);
        s.setAtIndex(JAVA_INT, 4, storage.code());
        s.setAtIndex(JAVA_INT, 5, kvDtype.code());
        return s;
    }
}

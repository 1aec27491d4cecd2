package io.weir.worker.engine;

import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kernels.ModelOptions;
import io.weir.worker.kernels.WeightStorage;

/**
 * How a worker runs one model.
 *
 * @param maxSeqs        sequences running at once (--max-seqs)
 * @param maxBatchTokens tokens (rows) per forward step, decode and prefill chunks together (--max-batch-tokens)
 * @param kvCacheBytes   KV-cache budget in bytes (--kv-cache-mb); 0: room for maxSeqs full-length sequences,
 *                       at most {@link #DEFAULT_KV_CACHE_CAP}
 * @param blockSize      positions per KV block, a multiple of 16 (--kv-block-size)
 * @param storage        how weights are stored: f32, or converted at load to bf16 or int8 (--quantize)
 * @param kvDtype        the KV cache's elements (--kv-cache-dtype), or null for the library's choice for the weights'
 *                       storage ({@link io.weir.worker.kernels.KernelLibrary#kvDtype})
 */
public record EngineSettings(int maxSeqs, int maxBatchTokens, long kvCacheBytes, int blockSize, WeightStorage storage,
                             KvDtype kvDtype) {
    public static final int DEFAULT_MAX_SEQS = 16;
    public static final int DEFAULT_MAX_BATCH_TOKENS = 256;
    public static final long DEFAULT_KV_CACHE_CAP = 1L << 30;

    public EngineSettings {
        if (maxSeqs <= 0 || maxBatchTokens <= 0 || kvCacheBytes < 0 || blockSize <= 0 || blockSize % 16 != 0
                || storage == null)
            throw new IllegalArgumentException("bad engine settings: maxSeqs=" + maxSeqs + ", maxBatchTokens=" + maxBatchTokens
                    + ", kvCacheBytes=" + kvCacheBytes + ", blockSize=" + blockSize + ", storage=" + storage);
    }

    public static EngineSettings defaults(int maxSeqs) {
        return new EngineSettings(maxSeqs, DEFAULT_MAX_BATCH_TOKENS, 0, ModelOptions.DEFAULT_BLOCK_SIZE, WeightStorage.F32,
                null);
    }

    public EngineSettings withMaxBatchTokens(int n) {
        return new EngineSettings(maxSeqs, n, kvCacheBytes, blockSize, storage, kvDtype);
    }

    public EngineSettings withKvCacheBytes(long bytes) {
        return new EngineSettings(maxSeqs, maxBatchTokens, bytes, blockSize, storage, kvDtype);
    }

    public EngineSettings withStorage(WeightStorage s) {
        return new EngineSettings(maxSeqs, maxBatchTokens, kvCacheBytes, blockSize, s, kvDtype);
    }

    /** The KV cache's elements: null for the library's choice. */
    public EngineSettings withKvDtype(KvDtype kv) {
        return new EngineSettings(maxSeqs, maxBatchTokens, kvCacheBytes, blockSize, storage, kv);
    }

    /**
     * KV blocks for a model whose positions take {@code bytesPerPosition} (keys and values of every layer) and
     * whose sequences run to {@code maxSeqLen}.
     *
     * @throws IllegalArgumentException when the budget cannot hold one full-length sequence
     */
    public int kvBlocks(long bytesPerPosition, int maxSeqLen) {
        long perBlock = bytesPerPosition * blockSize;
        long perSequence = (maxSeqLen + blockSize - 1) / blockSize;
        long blocks = kvCacheBytes > 0 ? kvCacheBytes / perBlock
                : Math.min(maxSeqs * perSequence, Math.max(perSequence, DEFAULT_KV_CACHE_CAP / perBlock));
        if (blocks < perSequence)
            throw new IllegalArgumentException("KV cache budget of " + (kvCacheBytes >> 20) + " MiB holds " + blocks
                    + " blocks; one sequence of " + maxSeqLen + " positions needs " + perSequence + " ("
                    + ((perSequence * perBlock + (1 << 20) - 1) >> 20) + " MiB)");
        return (int) Math.min(blocks, Integer.MAX_VALUE);
    }
}

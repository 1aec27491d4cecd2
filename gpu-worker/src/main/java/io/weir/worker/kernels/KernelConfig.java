package io.weir.worker.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * Model hyper-parameters as the kernel library sees them: the Java side of {@code wk_config}.
 * Validation happens in C ({@code wk_model_create}); this record only carries the values.
 *
 * @param dim             hidden size
 * @param hiddenDim       SwiGLU inner size
 * @param nLayers         decoder layers
 * @param nHeads          query heads
 * @param nKvHeads        key/value heads (GQA)
 * @param headDim         per-head size
 * @param vocabSize       logits per row
 * @param maxSeqLen       KV cache positions per slot
 * @param rmsEps          RMSNorm epsilon
 * @param ropeTheta       RoPE base
 * @param tiedEmbeddings  the LM head is the token embedding table
 */
public record KernelConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int headDim, int vocabSize,
                           int maxSeqLen, float rmsEps, float ropeTheta, boolean tiedEmbeddings) {

    /** {@code wk_config}, field for field. */
    static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("dim"),
            JAVA_INT.withName("hidden_dim"),
            JAVA_INT.withName("n_layers"),
            JAVA_INT.withName("n_heads"),
            JAVA_INT.withName("n_kv_heads"),
            JAVA_INT.withName("head_dim"),
            JAVA_INT.withName("vocab_size"),
            JAVA_INT.withName("max_seq_len"),
            JAVA_FLOAT.withName("rms_eps"),
            JAVA_FLOAT.withName("rope_theta"),
            JAVA_INT.withName("tied_embeddings"));

    private static VarHandle field(String name) {
        return LAYOUT.varHandle(MemoryLayout.PathElement.groupElement(name));
    }

    private static final VarHandle DIM = field("dim"), HIDDEN_DIM = field("hidden_dim"), N_LAYERS = field("n_layers"),
            N_HEADS = field("n_heads"), N_KV_HEADS = field("n_kv_heads"), HEAD_DIM = field("head_dim"),
            VOCAB_SIZE = field("vocab_size"), MAX_SEQ_LEN = field("max_seq_len"), RMS_EPS = field("rms_eps"),
            ROPE_THETA = field("rope_theta"), TIED = field("tied_embeddings");

    /** A {@code wk_config} struct holding these values, allocated in {@code arena}. */
    MemorySegment toSegment(Arena arena) {
        MemorySegment s = arena.allocate(LAYOUT);
        DIM.set(s, 0L, dim);
        HIDDEN_DIM.set(s, 0L, hiddenDim);
        N_LAYERS.set(s, 0L, nLayers);
        N_HEADS.set(s, 0L, nHeads);
        N_KV_HEADS.set(s, 0L, nKvHeads);
        HEAD_DIM.set(s, 0L, headDim);
        VOCAB_SIZE.set(s, 0L, vocabSize);
        MAX_SEQ_LEN.set(s, 0L, maxSeqLen);
        RMS_EPS.set(s, 0L, rmsEps);
        ROPE_THETA.set(s, 0L, ropeTheta);
        TIED.set(s, 0L, tiedEmbeddings ? 1 : 0);
        return s;
    }
}

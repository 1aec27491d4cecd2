package io.weir.worker.kernels;

/**
 * The weight tensors of a Llama model, in forward-pass order ({@code wk_tensor}). Shapes are
 * {@code [out, in]} row-major (nn.Linear layout); per-layer tensors are uploaded once per layer.
 */
public enum WeightTensor {
    /** (vocab_size, dim) */
    TOK_EMBEDDINGS(0, false),
    /** (dim) */
    ATTN_NORM(1, true),
    /** (n_heads*head_dim, dim) */
    WQ(2, true),
    /** (n_kv_heads*head_dim, dim) */
    WK(3, true),
    /** (n_kv_heads*head_dim, dim) */
    WV(4, true),
    /** (dim, n_heads*head_dim) */
    WO(5, true),
    /** (dim) */
    FFN_NORM(6, true),
    /** (hidden_dim, dim) */
    W_GATE(7, true),
    /** (hidden_dim, dim) */
    W_UP(8, true),
    /** (dim, hidden_dim) */
    W_DOWN(9, true),
    /** (dim) */
    FINAL_NORM(10, false),
    /** (vocab_size, dim); absent when the embeddings are tied */
    LM_HEAD(11, false);

    private final int id;
    private final boolean perLayer;

    WeightTensor(int id, boolean perLayer) {
        this.id = id;
        this.perLayer = perLayer;
    }

    /** The {@code wk_tensor} value. */
    public int id() {
        return id;
    }

    /** True for tensors with one copy per decoder layer; global ones use layer -1. */
    public boolean perLayer() {
        return perLayer;
    }

    /** The shape {@code [rows, cols]} ({@code [n]} for norm vectors) under {@code c}. */
    public long[] shape(KernelConfig c) {
        long q = (long) c.nHeads() * c.headDim(), kv = (long) c.nKvHeads() * c.headDim();
        return switch (this) {
            case TOK_EMBEDDINGS, LM_HEAD -> new long[] {c.vocabSize(), c.dim()};
            case ATTN_NORM, FFN_NORM, FINAL_NORM -> new long[] {c.dim()};
            case WQ -> new long[] {q, c.dim()};
            case WK, WV -> new long[] {kv, c.dim()};
            case WO -> new long[] {c.dim(), q};
            case W_GATE, W_UP -> new long[] {c.hiddenDim(), c.dim()};
            case W_DOWN -> new long[] {c.dim(), c.hiddenDim()};
        };
    }
}

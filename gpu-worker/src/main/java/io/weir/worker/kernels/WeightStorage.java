package io.weir.worker.kernels;

import java.util.Locale;

/**
 * How the kernel library stores the projection and LM-head weights ({@code wk_options.weight_dtype}).
 * Checkpoints may be F32, F16 or BF16 whatever the storage; {@link #BF16} and {@link #INT8} convert at
 * load ({@code --quantize}). INT8 is symmetric per output row (one f32 scale per row).
 */
public enum WeightStorage {
    F32(0, 4),
    BF16(2, 2),
    INT8(3, 1);

    private final int code;
    private final int bytes;

    WeightStorage(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** The {@code wk_dtype} value. */
    public int code() {
        return code;
    }

    /** Bytes per stored weight. */
    public int bytes() {
        return bytes;
    }

    /** {@code f32}, {@code bf16} or {@code int8} (case-insensitive). */
    public static WeightStorage parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown weight storage '" + name + "' (expected f32, bf16 or int8)");
        }
    }
}

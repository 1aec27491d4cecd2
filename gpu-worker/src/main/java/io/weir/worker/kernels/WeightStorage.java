package io.weir.worker.kernels;

import java.util.Locale;

/**
 * How the kernel library stores the projection and LM-head weights ({@code wk_options.weight_dtype}).
 * Checkpoints may be F32, F16 or BF16 whatever the storage; {@link #BF16} and {@link #INT8} convert at
 * load ({@code --quantize}). INT8 is symmetric per output row (one f32 scale per row).
 */
public enum WeightStorage implements ElementType.Of {
    F32, BF16, INT8;

    /** {@code f32}, {@code bf16} or {@code int8} (case-insensitive). */
    public static WeightStorage parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown weight storage '" + name + "' (expected f32, bf16 or int8)");
        }
    }
}

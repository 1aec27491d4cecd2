package io.weir.worker.kernels;

/**
 * Element types the kernel library accepts for weights ({@code wk_dtype}) and their safetensors
 * names. The kernels widen F16/BF16 to f32 on upload; the conversions here are the Java side of the
 * same bit patterns (for writing checkpoints and reading weights back).
 */
public enum DType implements ElementType.Of {
    F32, F16, BF16;

    /** The dtype for a safetensors dtype string ({@code "F32"}, {@code "F16"}, {@code "BF16"}), or null if unsupported. */
    public static DType fromSafetensors(String name) {
        for (DType d : values()) if (d.name().equals(name)) return d;
        return null;
    }

    /** bf16 bits of {@code f}, rounded to nearest even (NaN stays NaN). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** IEEE binary16 bits of {@code f}, rounded to nearest even. */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }

    public static float f16ToFloat(short h) {
        return Float.float16ToFloat(h);
    }
}

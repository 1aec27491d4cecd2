package io.weir.worker.kernels;

/**
 * Element types of the KV cache ({@code wk_options.kv_dtype}) and what a position costs in each: f32; bf16 (half the
 * bytes, rounded when written); int8 (a quarter, plus a float scale per position and kv head for its key and one for
 * its value: each vector quantized symmetrically, max |x| / 127). bf16 and int8 are CPU-only.
 */
public enum KvDtype implements ElementType.Of {
    F32, BF16, INT8;

    /** {@code f32}, {@code bf16} or {@code int8} (any case), or null for {@code auto}: the library's choice. */
    public static KvDtype parseOrAuto(String name) {
        if (name.equalsIgnoreCase("auto")) return null;
        for (KvDtype d : values()) if (d.name().equalsIgnoreCase(name)) return d;
        throw new IllegalArgumentException("KV cache dtype must be auto, f32, bf16 or int8, not " + name);
    }

    /** Bytes of the keys and values of one position in every layer (int8: their scales too). */
    public long bytesPerPosition(int nLayers, int nKvHeads, int headDim) {
        long perVector = (long) headDim * bytes() + (this == INT8 ? Float.BYTES : 0);
        return 2L * nLayers * nKvHeads * perVector;
    }
}

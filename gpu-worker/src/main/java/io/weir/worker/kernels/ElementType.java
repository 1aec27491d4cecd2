package io.weir.worker.kernels;

/**
 * The kernel library's element types ({@code wk_dtype} in weir_kernels.h): its code and bytes per element. Each use
 * accepts a subset, named by its own enum ({@link DType} for checkpoints, {@link WeightStorage} for stored weights,
 * {@link KvDtype} for the KV cache), whose constants stand for one of these through {@link Of}.
 */
public enum ElementType {
    F32(0, 4),
    F16(1, 2),
    BF16(2, 2),
    INT8(3, 1);

    private final int code;
    private final int bytes;

    ElementType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** A constant of a subset's enum, and the element type it stands for. */
    public interface Of {
        ElementType element();

        /** The {@code wk_dtype} value. */
        default int code() {
            return element().code;
        }

        /** Bytes per element. */
        default int bytes() {
            return element().bytes;
        }
    }
}

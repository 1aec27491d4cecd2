package io.weir.worker.kernels;

/**
 * The kernel library's element types ({@code wk_dtype} in weir_kernels.h): its code and bytes per element. Each use
 * accepts a subset, named by its own enum ({@link DType} for checkpoints, {@link WeightStorage} for stored weights,
 * {@link KvDtype} for the KV cache), whose constants are named as the element types they stand for ({@link Of}).
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

    /** A constant of a subset's enum: the element type of its name. */
    public interface Of {
        /** The constant's name ({@link Enum#name}). */
        String name();

        default ElementType element() {
            return ElementType.valueOf(name());
        }

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

package io.weir.worker.kernels;

/**
 * A kernel library call returned a non-zero {@code wk_status}. The message is the library's
 * {@code wk_last_error()} text; {@link #status()} is the code.
 */
public class KernelException extends RuntimeException {
    private final int status;

    public KernelException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The negative {@code wk_status} code (WK_ERR_ARG = -1, RANGE = -2, STATE = -3, NOMEM = -4, DEVICE = -5, UNSUPPORTED = -6). */
    public int status() {
        return status;
    }

    /** The symbolic name of {@link #status()}, e.g. {@code WK_ERR_RANGE}. */
    public String statusName() {
        return WeirNative.statusName(status);
    }
}

package io.weir.worker.model;

/**
 * A checkpoint directory is malformed or unsupported: missing or mis-shaped tensors, unsupported
 * dtypes or architectures, truncated or corrupt safetensors files. The message says which file and
 * tensor, and what was expected.
 */
public class CheckpointException extends IllegalArgumentException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}

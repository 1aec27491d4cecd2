package io.weir.worker.kernels;

/** The kernel library builds: one shared library per backend, same C API. */
public enum Backend {
    CPU("cpu", "libweir_cpu.so"),
    CUDA("cuda", "libweir_cuda.so");

    private final String id;
    private final String libraryFile;

    Backend(String id, String libraryFile) {
        this.id = id;
        this.libraryFile = libraryFile;
    }

    /** Lower-case name, as in {@code WEIR_BACKEND} and {@code wk_backend_name()}. */
    public String id() {
        return id;
    }

    /** The shared library's file name. */
    public String libraryFile() {
        return libraryFile;
    }
}

package io.weir.worker.kernels;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the kernel backend at run time. The choice comes from system property {@code weir.backend},
 * else environment variable {@code WEIR_BACKEND}, else {@code auto}:
 * <ul>
 *   <li>{@code cpu}: the C backend;</li>
 *   <li>{@code cuda}: the CUDA backend, failing if it is not built or sees no device;</li>
 *   <li>{@code auto}: CUDA when its library loads and {@code wk_device_count() > 0}, else CPU.</li>
 * </ul>
 * The decision and its reason are logged once per call.
 */
public final class BackendSelector {
    public static final String PROPERTY = "weir.backend";
    public static final String ENV = "WEIR_BACKEND";
    private static final Logger log = LoggerFactory.getLogger(BackendSelector.class);

    private BackendSelector() {}

    /** The backend chosen by {@code weir.backend} / {@code WEIR_BACKEND} (default auto). */
    public static KernelLibrary select() {
        String choice = System.getProperty(PROPERTY);
        String source = "system property " + PROPERTY;
        if (choice == null || choice.isBlank()) {
            choice = System.getenv(ENV);
            source = "environment " + ENV;
        }
        if (choice == null || choice.isBlank()) {
            choice = "auto";
            source = "default";
        }
        return select(choice, source);
    }

    /** The backend for {@code choice} ({@code cpu}, {@code cuda} or {@code auto}). */
    public static KernelLibrary select(String choice) {
        return select(choice, "explicit choice");
    }

    private static KernelLibrary select(String choice, String source) {
        switch (choice.trim().toLowerCase(Locale.ROOT)) {
            case "cpu" -> {
                KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
                log.info("kernel backend: cpu ({} = cpu); {}", source, cpu.info());
                return cpu;
            }
            case "cuda" -> {
                KernelLibrary cuda = KernelLibrary.load(Backend.CUDA);
                int n = cuda.deviceCount();
                if (n <= 0)
                    throw new IllegalStateException("kernel backend cuda requested (" + source
                            + ") but no CUDA device is usable: " + cuda.lastError());
                log.info("kernel backend: cuda ({} = cuda); {}", source, cuda.info());
                return cuda;
            }
            case "auto" -> {
                String why = cudaUnavailableReason();
                if (why == null) {
                    KernelLibrary cuda = KernelLibrary.load(Backend.CUDA);
                    log.info("kernel backend: cuda (auto: {} CUDA device(s)); {}", cuda.deviceCount(), cuda.info());
                    return cuda;
                }
                KernelLibrary cpu = KernelLibrary.load(Backend.CPU);
                log.info("kernel backend: cpu (auto: {}); {}", why, cpu.info());
                return cpu;
            }
            default -> throw new IllegalArgumentException(
                    "unknown kernel backend '" + choice + "' (" + source + "); expected cpu, cuda or auto");
        }
    }

    /** Null when the CUDA backend is usable, else why not. */
    public static String cudaUnavailableReason() {
        KernelLibrary cuda;
        try {
            cuda = KernelLibrary.load(Backend.CUDA);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return "CUDA library unavailable: " + e.getMessage();
        }
        int n = cuda.deviceCount();
        return n > 0 ? null : "no CUDA device: " + cuda.lastError();
    }
}

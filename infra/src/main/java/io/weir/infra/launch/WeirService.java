package io.weir.infra.launch;

/**
 * One Weir service (gateway, worker, registry, ...). Each module registers its implementation in
 * {@code META-INF/services/io.weir.infra.launch.WeirService}; the launcher finds them on the class path,
 * so no module has to depend on all the others. {@code weir up} starts every service found, in
 * {@link #startOrder()}; {@code weir <name>} starts one, as its own process.
 */
public interface WeirService {
    /** The command-line name: {@code weir <name>}. */
    String name();

    /** One line for {@code weir --help}. */
    String description();

    /** Lower starts first in {@code weir up} and stops last. */
    int startOrder();

    /** Starts the service; blocks until it can do its job. */
    Running start(ServiceContext context) throws Exception;

    /** A started service: closing it stops it. */
    interface Running extends AutoCloseable {
        /** Lines for the banner {@code weir up} prints once everything is ready (URL, API key...). */
        default java.util.List<String> banner() {
            return java.util.List.of();
        }

        @Override
        void close() throws Exception;
    }
}

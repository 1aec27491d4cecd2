package io.weir.registry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Finishes deletions: an endpoint marked DELETE_IN_PROGRESS is removed from the registry once no live worker
 * serves it any more (workers unload it when they see the mark). Every registry process runs one; removing
 * twice is harmless.
 */
final class DeletedEndpointReaper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeletedEndpointReaper.class);
    private static final long PERIOD_MS = 500;

    private final ModelRegistry registry;
    private final WorkerDirectory workers;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "endpoint-reaper"));

    DeletedEndpointReaper(ModelRegistry registry, WorkerDirectory workers) {
        this.registry = registry;
        this.workers = workers;
        timer.scheduleWithFixedDelay(this::reap, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    }

    private void reap() {
        try {
            var served = workers.servedEndpoints();
            for (ModelEndpoint e : registry.list()) {
                if (e.status() == EndpointStatus.DELETE_IN_PROGRESS && !served.contains(e.name())) {
                    registry.remove(e.name());
                    LOG.info("model endpoint {} deleted", e.name());
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("reaping deleted endpoints failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}

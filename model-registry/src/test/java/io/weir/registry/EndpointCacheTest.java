package io.weir.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The completion-service's endpoint lookups, on two real Hazelcast members: the cache on one, changes from the other. */
class EndpointCacheTest {
    private final ModelRegistry here = new ModelRegistry(TestCluster.members().get(0));
    private final ModelRegistry there = new ModelRegistry(TestCluster.members().get(1));

    private static String name() {
        return "cache-" + UUID.randomUUID();
    }

    private static EndpointStatus status(Optional<ModelEndpoint> e) {
        return e.orElseThrow().status();
    }

    @Test
    void aTrustedEndpointIsReadOnceAndEvictedWhenAnotherMemberChangesIt() throws Exception {
        String name = name();
        there.create(ModelEndpoint.local(name, "/models/x", "t", Instant.now(), 1));
        there.setStatus(name, EndpointStatus.READY, null, 512);
        AtomicInteger reads = new AtomicInteger(); // the predicate runs on registry reads only
        try (EndpointCache cache = new EndpointCache(here, e -> {
            reads.incrementAndGet();
            return e.status() == EndpointStatus.READY;
        })) {
            assertEquals(EndpointStatus.READY, status(cache.get(name)));
            assertEquals(EndpointStatus.READY, status(cache.get(name)));
            assertEquals(1, reads.get(), "the second lookup came from the cache");

            there.setStatus(name, EndpointStatus.UPDATE_FAILED, "broken", null);
            long deadline = System.nanoTime() + 10_000_000_000L; // the entry event crosses the cluster
            while (status(cache.get(name)) != EndpointStatus.UPDATE_FAILED && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(EndpointStatus.UPDATE_FAILED, status(cache.get(name)), "the change reached this member");
        }
    }

    @Test
    void absentAndUntrustedEndpointsAreReadEveryTimeSoTheirRepairIsSeenAtOnce() throws Exception {
        String name = name();
        try (EndpointCache cache = new EndpointCache(here, e -> e.status() == EndpointStatus.READY)) {
            assertTrue(cache.get(name).isEmpty());
            there.create(ModelEndpoint.local(name, "/models/x", "t", Instant.now(), 1));
            there.setStatus(name, EndpointStatus.UPDATE_FAILED, "broken", null);
            assertEquals(EndpointStatus.UPDATE_FAILED, status(cache.get(name)), "created: seen with no wait");
            there.setStatus(name, EndpointStatus.READY, null, 512);
            assertEquals(EndpointStatus.READY, status(cache.get(name)), "repaired: seen with no wait");
        }
    }
}

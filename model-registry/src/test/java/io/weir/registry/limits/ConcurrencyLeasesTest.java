package io.weir.registry.limits;

import io.weir.registry.TestCluster;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Concurrency leases taken by two holders (two gateways) on two members. */
class ConcurrencyLeasesTest {
    private static Optional<ConcurrencyLeases.Lease> take(ConcurrencyLeases leases, String key, int max) {
        return leases.tryAcquire(key, max).toCompletableFuture().join();
    }

    private static void awaitTrue(BooleanSupplier condition, Duration within, String what) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    @Test
    void slotsAreSharedByEveryHolderAndGivenBackOnRelease() {
        String key = "key_" + UUID.randomUUID();
        try (var gatewayA = new ConcurrencyLeases(TestCluster.members().get(0), "gw-a", ConcurrencyLeases.DEFAULT_LEASE_TIME);
             var gatewayB = new ConcurrencyLeases(TestCluster.members().get(1), "gw-b", ConcurrencyLeases.DEFAULT_LEASE_TIME)) {
            var first = take(gatewayA, key, 2).orElseThrow();
            var second = take(gatewayB, key, 2).orElseThrow();
            assertEquals(Optional.empty(), take(gatewayA, key, 2));
            assertEquals(Optional.empty(), take(gatewayB, key, 2));
            assertEquals(2, gatewayA.inUse(key));
            gatewayA.release(first).toCompletableFuture().join();
            gatewayA.release(first).toCompletableFuture().join(); // twice: still only one slot back
            assertEquals(1, gatewayB.inUse(key));
            var third = take(gatewayB, key, 2).orElseThrow();
            assertEquals(Optional.empty(), take(gatewayA, key, 2));
            gatewayB.release(second).toCompletableFuture().join();
            gatewayB.release(third).toCompletableFuture().join();
            assertEquals(0, gatewayA.inUse(key));
        }
    }

    @Test
    void leasesOfAHolderThatStopsRenewingLapseAndLiveOnWhileRenewed() {
        String key = "key_" + UUID.randomUUID();
        Duration leaseTime = Duration.ofMillis(600);
        var alive = new ConcurrencyLeases(TestCluster.members().get(0), "gw-alive", leaseTime);
        var crashed = new ConcurrencyLeases(TestCluster.members().get(1), "gw-crashed", leaseTime);
        try {
            take(alive, key, 2).orElseThrow();
            take(crashed, key, 2).orElseThrow();
            crashed.close(); // as if its process died: it renews no more, and never releases
            awaitTrue(() -> alive.inUse(key) == 1, Duration.ofSeconds(10), "the silent holder's lease lapses");
            // The renewed lease outlives several lease times.
            long until = System.nanoTime() + leaseTime.multipliedBy(4).toNanos();
            while (System.nanoTime() < until) {
                assertEquals(1, alive.inUse(key), "the renewed lease is still held");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
            var other = new ConcurrencyLeases(TestCluster.members().get(1), "gw-other", leaseTime);
            try {
                assertTrue(take(other, key, 2).isPresent(), "the lapsed slot is free again");
                assertEquals(Optional.empty(), take(other, key, 2));
            } finally {
                other.close();
            }
        } finally {
            alive.close();
        }
    }
}

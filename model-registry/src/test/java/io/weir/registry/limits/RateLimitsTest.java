package io.weir.registry.limits;

import io.weir.registry.TestCluster;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rate limits through two members at once, as two gateways would use them. */
class RateLimitsTest {
    private final RateLimits onA = new RateLimits(TestCluster.members().get(0));
    private final RateLimits onB = new RateLimits(TestCluster.members().get(1));

    private static Duration take(RateLimits limits, String key, int perMinute) {
        return limits.tryAcquire(key, perMinute).toCompletableFuture().join();
    }

    @Test
    void aBurstOfTheLimitIsAdmittedThenTheNextWaitsOneIntervalWhicheverGatewayItComesThrough() {
        String key = "key_" + UUID.randomUUID();
        for (int i = 0; i < 5; i++) {
            assertEquals(Duration.ZERO, take(i % 2 == 0 ? onA : onB, key, 5), "request " + (i + 1) + " of 5");
        }
        Duration wait = take(onB, key, 5);
        // 5 per minute refill one every 12 s: the 6th waits at most that long (a little less as time passed).
        assertTrue(wait.compareTo(Duration.ofSeconds(11)) > 0 && wait.compareTo(Duration.ofSeconds(12)) <= 0, wait.toString());
        Duration again = take(onA, key, 5);
        assertTrue(again.compareTo(Duration.ZERO) > 0 && again.compareTo(wait) <= 0, "a refused request takes nothing: " + again);
    }

    @Test
    void concurrentRequestsThroughTwoMembersAreCountedExactlyOnce() {
        String key = "key_" + UUID.randomUUID();
        List<CompletableFuture<Duration>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            all.add((i % 2 == 0 ? onA : onB).tryAcquire(key, 25).toCompletableFuture());
        }
        long admitted = all.stream().map(CompletableFuture::join).filter(Duration::isZero).count();
        assertEquals(25, admitted);
    }

    @Test
    void keysHaveSeparateAllowances() {
        String one = "key_" + UUID.randomUUID();
        String two = "key_" + UUID.randomUUID();
        assertEquals(Duration.ZERO, take(onA, one, 1));
        assertTrue(take(onA, one, 1).compareTo(Duration.ZERO) > 0);
        assertEquals(Duration.ZERO, take(onA, two, 1));
    }
}

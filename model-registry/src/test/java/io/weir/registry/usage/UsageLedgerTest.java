package io.weir.registry.usage;

import io.weir.registry.TestCluster;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class UsageLedgerTest {
    private final UsageLedger onA = new UsageLedger(TestCluster.members().get(0));
    private final UsageLedger onB = new UsageLedger(TestCluster.members().get(1));

    @Test
    void concurrentRequestsThroughTwoMembersAreAllCountedPerTenantAndModel() {
        String tenant = "t-" + UUID.randomUUID();
        String other = "t-" + UUID.randomUUID();
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        long prompt = 0;
        long completion = 0;
        for (int i = 0; i < 50; i++) {
            String model = i % 3 == 0 ? "m2" : "m1";
            writes.add((i % 2 == 0 ? onA : onB).record(tenant, model, i, 2L * i + 1, Instant.ofEpochMilli(1_000 + i)).toCompletableFuture());
            prompt += i;
            completion += 2L * i + 1;
        }
        writes.add(onA.record(other, "m1", 7, 9, Instant.now()).toCompletableFuture());
        writes.forEach(CompletableFuture::join);

        TenantUsage usage = onB.ofAsync(tenant).toCompletableFuture().join();
        assertEquals(new TokenCounts(50, prompt, completion), usage.total());
        assertEquals(17, usage.models().get("m2").requests()); // i = 0, 3, ..., 48
        assertEquals(33, usage.models().get("m1").requests());
        assertEquals(usage.total().totalTokens(), usage.models().values().stream().mapToLong(TokenCounts::totalTokens).sum());
        assertEquals(new TokenCounts(1, 7, 9), onA.ofAsync(other).toCompletableFuture().join().total());
    }

    @Test
    void aTenantWithNoRequestsHasZeroUsage() {
        TenantUsage none = onA.ofAsync("nobody-" + UUID.randomUUID()).toCompletableFuture().join();
        assertEquals(TokenCounts.ZERO, none.total());
        assertNull(none.updatedAt());
    }
}

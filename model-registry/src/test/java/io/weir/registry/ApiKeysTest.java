package io.weir.registry;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApiKeysTest {
    private final ApiKeys onA = new ApiKeys(TestCluster.members().get(0));
    private final ApiKeys onB = new ApiKeys(TestCluster.members().get(1));

    @Test
    void aCreatedKeyIsFoundEverywhereByTheKeyButStoredOnlyAsAHash() {
        ApiKeys.Created created = onA.create("team-x", false, 3, 1);
        assertTrue(created.key().startsWith("weir-"));
        assertTrue(created.record().id().startsWith("key_"));
        ApiKey found = onB.findAsync(created.key()).toCompletableFuture().join().orElseThrow();
        assertEquals(created.record(), found);
        assertEquals(3, found.rateLimitPerMinute());
        assertEquals(1, found.maxConcurrentRequests());
        assertEquals(Optional.of("team-x"), onB.tenantOfAsync(created.key()).toCompletableFuture().join());
        var stored = TestCluster.members().get(1).<String, String>getMap(ApiKeys.MAP_NAME);
        assertFalse(stored.containsKey(created.key()));
        assertTrue(stored.values().stream().noneMatch(v -> v.contains(created.key())), "the raw key is nowhere in the map");
        assertTrue(onB.list().contains(found));
    }

    @Test
    void aRevokedKeyIsRefusedEverywhereAndStaysRevokedWhenRegisteredAgain() {
        String key = ApiKeys.generate();
        ApiKey registered = onA.register(key, "flag-tenant", false);
        assertEquals(registered.id(), onB.register(key, "flag-tenant", false).id(), "registering again keeps the id");
        ApiKey revoked = onB.revoke(registered.id()).orElseThrow();
        assertTrue(revoked.isRevoked());
        assertEquals(Optional.empty(), onA.tenantOfAsync(key).toCompletableFuture().join());
        assertTrue(onA.findAsync(key).toCompletableFuture().join().orElseThrow().isRevoked());
        assertEquals(revoked.revokedAt(), onA.revoke(registered.id()).orElseThrow().revokedAt(), "revoking twice changes nothing");
        assertTrue(onA.register(key, "flag-tenant", false).isRevoked(), "a restart with the same --api-key does not bring it back");
        assertEquals(Optional.empty(), onA.revoke("key_nope"));
    }

    @Test
    void registeringAgainTakesTheRoleFromTheFlagsAndEveryKeyHasItsOwnId() {
        String key = ApiKeys.generate();
        ApiKey first = onA.register(key, "t1", false);
        ApiKey again = onA.register(key, "admin", true);
        assertEquals(first.id(), again.id());
        assertEquals(first.createdAt(), again.createdAt());
        assertTrue(again.admin());
        assertEquals("admin", again.tenant());
        assertNotEquals(first.id(), onA.register(ApiKeys.generate(), "t1", false).id());
    }

    @Test
    void badTenantsAndLimitsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> onA.create("", false, null, null));
        assertThrows(IllegalArgumentException.class, () -> onA.create("has space", false, null, null));
        assertThrows(IllegalArgumentException.class, () -> onA.create("ok", false, 0, null));
        assertThrows(IllegalArgumentException.class, () -> onA.create("ok", false, null, -1));
        assertThrows(IllegalArgumentException.class, () -> onA.register(" ", "ok", false));
    }
}

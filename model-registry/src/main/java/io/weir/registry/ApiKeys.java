package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.weir.infra.hazelcast.DurableMaps;
import io.weir.infra.json.Json;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

/**
 * API keys, the tenants they belong to, their role and limits, shared through Hazelcast and kept on disk
 * (a durable map). Only a SHA-256 of each key is stored, so neither a dump of the map nor its file reveals
 * a usable key; the raw key is shown once, when it is created.
 */
public final class ApiKeys {
    static final String MAP_NAME = DurableMaps.API_KEYS;
    /** Tenant names: they appear in usage reports and logs, so keep them plain. */
    public static final Pattern TENANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,127}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final IMap<String, String> keysByHash;
    private final Clock clock;

    /** A key just created: the raw key (shown to its owner once, never stored) and its record. */
    public record Created(String key, ApiKey record) {
    }

    public ApiKeys(HazelcastInstance hazelcast) {
        this(hazelcast, Clock.systemUTC());
    }

    ApiKeys(HazelcastInstance hazelcast, Clock clock) {
        this.keysByHash = hazelcast.getMap(MAP_NAME);
        this.clock = clock;
    }

    /**
     * Accepts a key chosen by the operator (--api-key, the generated admin key). Registering it again keeps
     * its id, limits and revocation: a key revoked through the admin API stays revoked across restarts.
     */
    public ApiKey register(String key, String tenant, boolean admin) {
        if (key.isBlank()) {
            throw new IllegalArgumentException("an API key must not be blank");
        }
        checkTenant(tenant);
        String hash = hash(key);
        keysByHash.lock(hash);
        try {
            ApiKey record = find(hash)
                    .map(existing -> existing.withRole(tenant, admin))
                    .orElseGet(() -> new ApiKey(newId(), tenant, admin, null, null, clock.instant(), null));
            keysByHash.put(hash, Json.toString(record));
            return record;
        } finally {
            keysByHash.unlock(hash);
        }
    }

    /** Same as {@code register(key, tenant, false)}. */
    public void add(String key, String tenant) {
        register(key, tenant, false);
    }

    /** Creates a new random key for a tenant. */
    public Created create(String tenant, boolean admin, Integer rateLimitPerMinute, Integer maxConcurrentRequests) {
        checkTenant(tenant);
        if (rateLimitPerMinute != null && rateLimitPerMinute < 1 || maxConcurrentRequests != null && maxConcurrentRequests < 1) {
            throw new IllegalArgumentException("limits must be at least 1");
        }
        String key = generate();
        ApiKey record = new ApiKey(newId(), tenant, admin, rateLimitPerMinute, maxConcurrentRequests, clock.instant(), null);
        keysByHash.put(hash(key), Json.toString(record));
        return new Created(key, record);
    }

    /** The record of a key, revoked or not, without blocking the caller: for event loops. */
    public CompletionStage<Optional<ApiKey>> findAsync(String key) {
        return keysByHash.getAsync(hash(key)).thenApply(json -> Optional.ofNullable(json).map(ApiKeys::parse));
    }

    /** The tenant of a valid (known, not revoked) key, without blocking the caller. */
    public CompletionStage<Optional<String>> tenantOfAsync(String key) {
        return findAsync(key).thenApply(found -> found.filter(k -> !k.isRevoked()).map(ApiKey::tenant));
    }

    /** Every key, revoked ones included, oldest first. */
    public List<ApiKey> list() {
        return keysByHash.values().stream().map(ApiKeys::parse)
                .sorted(Comparator.comparing(ApiKey::createdAt).thenComparing(ApiKey::id))
                .toList();
    }

    /** Revokes the key with this id (at once, for every gateway); empty if there is none. Idempotent. */
    public Optional<ApiKey> revoke(String id) {
        for (Map.Entry<String, String> entry : keysByHash.entrySet()) {
            if (parse(entry.getValue()).id().equals(id)) {
                String hash = entry.getKey();
                keysByHash.lock(hash);
                try {
                    Optional<ApiKey> current = find(hash);
                    current.ifPresent(k -> keysByHash.put(hash, Json.toString(k.revoked(clock.instant()))));
                    return find(hash);
                } finally {
                    keysByHash.unlock(hash);
                }
            }
        }
        return Optional.empty();
    }

    public boolean isEmpty() {
        return keysByHash.isEmpty();
    }

    /** A new random key: "weir-" and 32 hex digits. */
    public static String generate() {
        return "weir-" + randomHex(16);
    }

    static String hash(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    private Optional<ApiKey> find(String hash) {
        return Optional.ofNullable(keysByHash.get(hash)).map(ApiKeys::parse);
    }

    private static ApiKey parse(String json) {
        return Json.fromString(json, ApiKey.class);
    }

    private static void checkTenant(String tenant) {
        if (tenant == null || !TENANT.matcher(tenant).matches()) {
            throw new IllegalArgumentException("tenant '" + tenant + "' must be 1 to 128 letters, digits, '.', '_', '@' or '-'"
                    + " (starting with a letter or digit)");
        }
    }

    private static String newId() {
        return "key_" + randomHex(12);
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}

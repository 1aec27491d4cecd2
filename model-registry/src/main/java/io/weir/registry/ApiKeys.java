package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;

/**
 * API keys and the tenants they belong to, shared through Hazelcast. Only a SHA-256 of each key is
 * stored, so a dump of the map reveals no usable key.
 */
public final class ApiKeys {
    static final String MAP_NAME = "weir.api-keys";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final IMap<String, String> tenantsByKeyHash;

    public ApiKeys(HazelcastInstance hazelcast) {
        this.tenantsByKeyHash = hazelcast.getMap(MAP_NAME);
    }

    public void add(String key, String tenant) {
        if (key.isBlank() || tenant.isBlank()) {
            throw new IllegalArgumentException("API key and tenant must not be blank");
        }
        tenantsByKeyHash.put(hash(key), tenant);
    }

    /** The tenant of a key, if the key is known. */
    public Optional<String> tenantOf(String key) {
        return Optional.ofNullable(tenantsByKeyHash.get(hash(key)));
    }

    /** The same lookup without blocking the caller: for event loops. */
    public java.util.concurrent.CompletionStage<Optional<String>> tenantOfAsync(String key) {
        return tenantsByKeyHash.getAsync(hash(key)).thenApply(Optional::ofNullable);
    }

    public boolean isEmpty() {
        return tenantsByKeyHash.isEmpty();
    }

    /** A new random key: "weir-" and 32 hex digits. */
    public static String generate() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return "weir-" + HexFormat.of().formatHex(bytes);
    }

    static String hash(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }
}

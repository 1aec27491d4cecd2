package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Secrets every process of the cluster must agree on, created once by whichever process asks first
 * (putIfAbsent makes the race harmless).
 */
public final class ClusterSecrets {
    private static final String URL_SIGNING_KEY = "url_signing_key";

    private ClusterSecrets() {
    }

    /** The key that signs download URLs, so any gateway can check a URL another one issued. */
    public static byte[] urlSigningKey(HazelcastInstance hazelcast) {
        IMap<String, String> settings = hazelcast.getMap(CheckpointPolicy.MAP_NAME);
        byte[] fresh = new byte[32];
        new SecureRandom().nextBytes(fresh);
        settings.putIfAbsent(URL_SIGNING_KEY, HexFormat.of().formatHex(fresh));
        return HexFormat.of().parseHex(settings.get(URL_SIGNING_KEY));
    }
}

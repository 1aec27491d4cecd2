package io.weir.registry;

import com.hazelcast.core.HazelcastInstance;
import io.weir.infra.hazelcast.HazelcastNodes;
import io.weir.infra.kafka.EmbeddedKafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import java.util.UUID;

/**
 * Two real Hazelcast members in one cluster, with durable maps, shared by the tests of this JVM (started on
 * first use, stopped at exit): two gateways or registries acting on the same state.
 */
public final class TestCluster {
    private static List<HazelcastInstance> members;

    private TestCluster() {
    }

    public static synchronized List<HazelcastInstance> members() {
        if (members == null) {
            try {
                String cluster = "registry-test-" + UUID.randomUUID();
                HazelcastInstance a = HazelcastNodes.member(cluster, "127.0.0.1", EmbeddedKafka.freePort(),
                        Files.createTempDirectory("weir-registry-a"));
                HazelcastInstance b = HazelcastNodes.member(cluster, "127.0.0.1", EmbeddedKafka.freePort(),
                        Files.createTempDirectory("weir-registry-b"), HazelcastNodes.address(a));
                members = List.of(a, b);
                Runtime.getRuntime().addShutdownHook(new Thread(() -> members.forEach(HazelcastInstance::shutdown)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return members;
    }
}

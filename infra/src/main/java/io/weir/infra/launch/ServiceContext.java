package io.weir.infra.launch;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.weir.infra.kafka.KafkaClients;

import java.nio.file.Path;

/**
 * What a service is started with: the shared Vert.x instance, the Kafka cluster, the Hazelcast
 * cluster (a member or a client: services cannot tell and need not care), and the options.
 *
 * @param instanceId unique per process, used for reply topics and client ids
 */
public record ServiceContext(
        Vertx vertx,
        KafkaClients kafka,
        HazelcastInstance hazelcast,
        WeirOptions options,
        String instanceId) {

    public Path dataDir() {
        return options.dataDir();
    }
}

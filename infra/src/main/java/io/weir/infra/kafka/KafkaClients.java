package io.weir.infra.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.Properties;

/**
 * Client factories with the settings Weir relies on. Keys are request ids (strings), values JSON bytes.
 * Producers send at once (linger 0): a token event waiting for a batch is latency the user sees.
 */
public final class KafkaClients {
    private final String bootstrapServers;

    public KafkaClients(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public KafkaProducer<String, byte[]> producer(String clientId) {
        return producer(clientId, 0);
    }

    /**
     * A producer that waits up to {@code lingerMs} for more records before sending a batch. For streams of many small
     * records produced together (a worker's token events: one per running sequence per step), so a step's events go in
     * one request instead of one each, at the price of that much latency.
     */
    public KafkaProducer<String, byte[]> producer(String clientId, int lingerMs) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /**
     * A consumer in a group, committing by hand: a request's offset is committed only once the request is
     * finished, so a worker that dies mid-request leaves it to be redelivered to another.
     */
    public KafkaConsumer<String, byte[]> groupConsumer(String clientId, String groupId) {
        Properties p = baseConsumer(clientId);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        // A dead member's partitions move to the others within seconds (the broker's minimum is 6 s).
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_500);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /** A consumer with no group, for topics a single instance reads from its own assignment (reply topics). */
    public KafkaConsumer<String, byte[]> standaloneConsumer(String clientId) {
        Properties p = baseConsumer(clientId);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    public Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return Admin.create(p);
    }

    private Properties baseConsumer(String clientId) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        // How long the broker holds a fetch that found nothing (Kafka's default). It does not delay data: a fetch
        // in the broker's purgatory completes as soon as a record lands. Shorter waits only make every idle
        // consumer ask again and again (20 ms: 50 empty fetches a second each, CPU the engine needs).
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 500);
        return p;
    }
}

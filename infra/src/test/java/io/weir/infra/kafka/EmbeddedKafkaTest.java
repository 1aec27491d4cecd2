package io.weir.infra.kafka;

import io.weir.infra.testing.TestBrokers;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EmbeddedKafkaTest {

    @Test
    void brokerTakesAndReturnsRecordsAndTopicCreationIsIdempotent() throws Exception {
        KafkaClients kafka = new KafkaClients(TestBrokers.embedded());
        var spec = Topics.replies("embedded-kafka-test");
        try (var admin = kafka.admin()) {
            Topics.ensure(admin, spec);
            Topics.ensure(admin, spec); // a second time is a no-op, not an error
            assertEquals(1, admin.describeTopics(List.of(spec.name())).allTopicNames().get().get(spec.name()).partitions().size());
        }
        try (var producer = kafka.producer("t"); var consumer = kafka.standaloneConsumer("t")) {
            TopicPartition tp = new TopicPartition(spec.name(), 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>(spec.name(), "k" + i, ("v" + i).getBytes(StandardCharsets.UTF_8))).get();
            }
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (seen.size() < 3 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.key() + "=" + new String(r.value(), StandardCharsets.UTF_8)));
            }
            assertEquals(List.of("k0=v0", "k1=v1", "k2=v2"), seen);
        }
    }
}

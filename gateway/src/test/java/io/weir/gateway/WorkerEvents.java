package io.weir.gateway;

import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.ReplyRecords;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the workers sent for each request, read from the gateway's reply topic from its start as an
 * outside consumer would: it sees the events the gateway drops once its caller is gone, such as the
 * {@code cancelled} event that tells how many tokens a cancelled request generated.
 */
final class WorkerEvents implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, List<CompletionEvent>> byRequest = new HashMap<>();

    WorkerEvents(String bootstrapServers, TestStack stack) {
        this.consumer = new KafkaClients(bootstrapServers).standaloneConsumer("test-events-" + UUID.randomUUID());
        TopicPartition partition = new TopicPartition(Topics.replies(stack.stack.context().instanceId()).name(), 0);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
    }

    /** The event that ended a request (finished or error), waiting up to 30 s for it. */
    CompletionEvent last(String requestId) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            List<CompletionEvent> events = byRequest.getOrDefault(requestId, List.of());
            if (!events.isEmpty() && (events.getLast().finished() || events.getLast().isError())) {
                return events.getLast();
            }
            assertTrue(System.nanoTime() < deadline, "no last event for " + requestId + " within 30 s; seen " + events.size());
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                for (CompletionEvent e : ReplyRecords.decode(r.value())) {
                    byRequest.computeIfAbsent(e.requestId(), k -> new ArrayList<>()).add(e);
                }
            }
        }
    }

    /** Every event the workers sent for a request so far (call {@link #last} first to have them all). */
    List<CompletionEvent> all(String requestId) {
        return byRequest.getOrDefault(requestId, List.of());
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}

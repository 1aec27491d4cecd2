package io.weir.infra.kafka;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Sends reply events to a reply topic, several per record ({@link ReplyRecords}). A record is keyed by its topic's
 * name, so every record of a topic lands in one partition and each request's events stay in order even on a reply
 * topic created with more partitions than the one Weir's own have.
 */
public final class ReplySender {
    private static final Logger LOG = LoggerFactory.getLogger(ReplySender.class);

    private final Producer<String, byte[]> producer;

    public ReplySender(Producer<String, byte[]> producer) {
        this.producer = producer;
    }

    public CompletableFuture<Void> send(String replyTopic, CompletionEvent event) {
        return send(replyTopic, List.of(event));
    }

    /**
     * Answers a request that produced nothing yet with its only event, an error of {@code status}: a request the
     * completion-service cannot route or forward, or a worker cannot take. Completes as {@link #send} does.
     */
    public CompletableFuture<Void> refuse(CompletionRequest request, int status, String message) {
        return send(request.replyTopic(), CompletionEvent.error(request.requestId(), 0, status, message));
    }

    /**
     * Sends {@code events} (in order, of any requests naming {@code replyTopic}) as one record. The future completes
     * when Kafka has acknowledged the record, or failed to (logged here): never exceptionally, so callers chain on it.
     */
    public CompletableFuture<Void> send(String replyTopic, List<CompletionEvent> events) {
        if (events.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        if (replyTopic == null || replyTopic.isBlank()) {
            LOG.warn("request {} names no reply topic; {} event(s) dropped", events.getFirst().requestId(), events.size());
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> acked = new CompletableFuture<>();
        producer.send(new ProducerRecord<>(replyTopic, replyTopic, ReplyRecords.encode(events)), (meta, error) -> {
            if (error != null) {
                LOG.error("{} reply event(s) to {} (first of {}) failed: {}", events.size(), replyTopic,
                        events.getFirst().requestId(), error.toString());
            }
            acked.complete(null);
        });
        return acked;
    }
}

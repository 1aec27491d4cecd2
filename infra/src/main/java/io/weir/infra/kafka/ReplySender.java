package io.weir.infra.kafka;

import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sends reply events to a request's reply topic, keyed by request id so they stay in order. */
public final class ReplySender {
    private static final Logger LOG = LoggerFactory.getLogger(ReplySender.class);

    private final Producer<String, byte[]> producer;

    public ReplySender(Producer<String, byte[]> producer) {
        this.producer = producer;
    }

    public void send(String replyTopic, CompletionEvent event) {
        if (replyTopic == null || replyTopic.isBlank()) {
            LOG.warn("request {} names no reply topic; event dropped", event.requestId());
            return;
        }
        producer.send(new ProducerRecord<>(replyTopic, event.requestId(), Json.toBytes(event)), (meta, error) -> {
            if (error != null) {
                LOG.error("reply for {} to {} failed: {}", event.requestId(), replyTopic, error.toString());
            }
        });
    }
}

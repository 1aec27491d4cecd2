package io.weir.gateway.replies;

import io.vertx.core.Context;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.ReplyRecords;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Reads this gateway instance's reply topic and hands each event to the HTTP request waiting for it, on
 * that request's Vert.x context (so handlers never need locks). A record holds a batch of events, possibly of
 * several requests ({@link ReplyRecords}). Events are delivered in seq order, once: a duplicate (a request
 * redelivered to another worker replays from seq 0) is dropped.
 */
public final class ReplyDispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplyDispatcher.class);

    private final String topic;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    private static final class Pending {
        final Context context;
        final Consumer<CompletionEvent> onEvent;
        int nextSeq;

        Pending(Context context, Consumer<CompletionEvent> onEvent) {
            this.context = context;
            this.onEvent = onEvent;
        }
    }

    public ReplyDispatcher(KafkaClients kafka, String instanceId) {
        var spec = Topics.replies(instanceId);
        this.topic = spec.name();
        try (var admin = kafka.admin()) {
            Topics.ensure(admin, spec);
        }
        this.consumer = kafka.standaloneConsumer("gateway-replies-" + instanceId);
        TopicPartition partition = new TopicPartition(topic, 0);
        consumer.assign(List.of(partition));
        consumer.seekToEnd(List.of(partition));
        consumer.position(partition); // resolve the end offset now: no reply sent after this point is missed
        this.thread = Thread.ofPlatform().name("gateway-replies").start(this::run);
    }

    /** The topic requests must name as reply_topic. */
    public String topic() {
        return topic;
    }

    /** Registers interest in a request's events; call before the request is sent. */
    public void expect(String requestId, Context context, Consumer<CompletionEvent> onEvent) {
        pending.put(requestId, new Pending(context, onEvent));
    }

    /** Stops delivering a request's events (it finished, timed out, or its client went away). */
    public void forget(String requestId) {
        pending.remove(requestId);
    }

    public int pendingCount() {
        return pending.size();
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    deliver(record);
                }
            }
        } catch (WakeupException e) {
            if (running) {
                LOG.error("reply consumer woken unexpectedly", e);
            }
        } catch (RuntimeException e) {
            LOG.error("reply consumer stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void deliver(ConsumerRecord<String, byte[]> record) {
        List<CompletionEvent> events;
        try {
            events = ReplyRecords.decode(record.value());
        } catch (RuntimeException e) {
            // A record keyed by a request (one event, written before batching) fails that request now rather than
            // let it hang until its deadline; a batch cannot be attributed, its requests end at their deadlines.
            LOG.error("unreadable reply record (key {}): {}", record.key(), e.getMessage());
            Pending p = record.key() == null ? null : pending.get(record.key());
            if (p != null) {
                deliver(p, CompletionEvent.error(record.key(), p.nextSeq, 502, "unreadable reply from the worker: " + e.getMessage()));
            }
            return;
        }
        for (CompletionEvent event : events) {
            Pending p = pending.get(event.requestId());
            if (p != null) { // else a request this instance no longer waits for
                deliver(p, event);
            }
        }
    }

    private void deliver(Pending p, CompletionEvent event) {
        if (event.seq() != p.nextSeq) {
            if (event.seq() > p.nextSeq) {
                LOG.warn("reply for {} skipped from seq {} to {}", event.requestId(), p.nextSeq, event.seq());
            } else {
                return; // duplicate
            }
        }
        p.nextSeq = event.seq() + 1;
        if (event.finished() || event.isError()) {
            pending.remove(event.requestId());
        }
        p.context.runOnContext(v -> p.onEvent.accept(event));
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5_000);
    }
}

package io.weir.worker.kafka;

import io.weir.infra.json.Json;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.messages.CancelRequest;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Reads every cancel on the cancel topic for this worker. Unlike requests, cancels are not shared out: a
 * request may run on any worker, so each worker reads the whole topic with its own group-less consumer,
 * from the end (older cancels concern requests that have ended or that a cancel already stopped).
 */
public final class CancelConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CancelConsumer.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final Consumer<CancelRequest> onCancel;
    private final Thread thread;
    private volatile boolean running = true;

    /** Ready when constructed: every cancel sent from then on is handed to {@code onCancel}, on this consumer's thread. */
    public CancelConsumer(KafkaClients kafka, String workerId, Consumer<CancelRequest> onCancel) {
        this.onCancel = onCancel;
        try (var admin = kafka.admin()) {
            Topics.ensure(admin, Topics.cancels());
        }
        this.consumer = kafka.standaloneConsumer(workerId + "-cancels");
        List<TopicPartition> partitions = consumer.partitionsFor(Topics.CANCELS).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition()))
                .toList();
        if (partitions.isEmpty()) { // metadata not propagated yet: the topic has the partitions we created
            partitions = IntStream.range(0, Topics.cancels().partitions()).mapToObj(p -> new TopicPartition(Topics.CANCELS, p)).toList();
        }
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position); // resolve the end now: no cancel sent after this point is missed
        this.thread = Thread.ofPlatform().name("cancels-" + workerId).start(this::run);
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    accept(record);
                }
            }
        } catch (WakeupException e) {
            if (running) {
                LOG.error("cancel consumer woken unexpectedly", e);
            }
        } catch (RuntimeException e) {
            LOG.error("cancel consumer stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void accept(ConsumerRecord<String, byte[]> record) {
        CancelRequest cancel;
        try {
            cancel = Json.fromBytes(record.value(), CancelRequest.class);
        } catch (RuntimeException e) {
            LOG.warn("skipping unreadable cancel at offset {}: {}", record.offset(), e.getMessage());
            return;
        }
        if (cancel.requestId() == null) {
            LOG.warn("skipping a cancel without request_id at offset {}", record.offset());
            return;
        }
        LOG.debug("cancel {} ({})", cancel.requestId(), cancel.reason());
        onCancel.accept(cancel);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5_000);
    }
}

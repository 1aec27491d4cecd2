package io.weir.worker.kafka;

import io.weir.infra.json.Json;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.OffsetTracker;
import io.weir.infra.kafka.ReplySender;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.topics.Topics;
import io.weir.worker.engine.EngineLoop;
import io.weir.worker.engine.RequestPreparer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Feeds one model's engine from the model's request topic, as a member of the consumer group of all
 * workers serving that model (Kafka shares the partitions among them). Requests are tokenized and checked
 * here, off the engine thread. Offsets are committed only when requests finish ({@link OffsetTracker}), and
 * the consumer pauses while the engine has a full queue, so requests wait in Kafka, where another worker
 * can take them, rather than in this process's memory.
 */
public final class ModelRequestConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelRequestConsumer.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final EngineLoop engine;
    private final RequestPreparer preparer;
    private final ReplySender replies;
    private final OffsetTracker offsets = new OffsetTracker();
    private final ConcurrentLinkedQueue<ConsumerRecord<String, byte[]>> finished = new ConcurrentLinkedQueue<>();
    private final CountDownLatch firstAssignment = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;

    public ModelRequestConsumer(KafkaClients kafka, String model, String workerId, EngineLoop engine,
                                RequestPreparer preparer, ReplySender replies) {
        this.engine = engine;
        this.preparer = preparer;
        this.replies = replies;
        try (var admin = kafka.admin()) {
            Topics.ensure(admin, Topics.modelRequests(model));
        }
        this.consumer = kafka.groupConsumer(workerId + "-" + model, Topics.modelWorkerGroup(model));
        consumer.subscribe(List.of(Topics.modelRequests(model).name()), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                commitFinished();
                offsets.revoked(partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                firstAssignment.countDown();
            }
        });
        this.thread = Thread.ofPlatform().name("requests-" + model).start(this::run);
    }

    /** Waits until this consumer has joined its group, so requests sent from now on reach a worker. */
    public boolean awaitJoined(Duration timeout) throws InterruptedException {
        return firstAssignment.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void run() {
        try {
            while (running) {
                applyBackpressure();
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    accept(record);
                }
                commitFinished();
            }
        } catch (WakeupException e) {
            if (running) {
                LOG.error("request consumer woken unexpectedly", e);
            }
        } catch (RuntimeException e) {
            LOG.error("request consumer stopped", e);
        } finally {
            commitFinished();
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void accept(ConsumerRecord<String, byte[]> record) {
        TopicPartition partition = new TopicPartition(record.topic(), record.partition());
        offsets.started(partition, record.offset());
        CompletionRequest request;
        try {
            request = Json.fromBytes(record.value(), CompletionRequest.class);
        } catch (RuntimeException e) {
            LOG.warn("skipping unreadable request at {}@{}: {}", partition, record.offset(), e.getMessage());
            offsets.finished(partition, record.offset());
            return;
        }
        try {
            engine.submit(preparer.prepare(request, () -> finished.add(record)));
        } catch (RequestPreparer.RejectedRequestException e) {
            refuse(record, request, e.status(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("cannot prepare request {}", request.requestId(), e);
            refuse(record, request, 500, "cannot prepare request: " + e.getMessage());
        }
    }

    /** Answers a request with an error; like a finished one, its offset is committable once that answer is acknowledged. */
    private void refuse(ConsumerRecord<String, byte[]> record, CompletionRequest request, int status, String message) {
        replies.refuse(request, status, message).thenRun(() -> finished.add(record));
    }

    private void commitFinished() {
        offsets.commit(finished, consumer, "requests may be redelivered");
    }

    /** Keeps at most one engine's worth of requests waiting in this process. */
    private void applyBackpressure() {
        var assigned = consumer.assignment();
        if (engine.waitingCount() >= engine.maxSequences()) {
            consumer.pause(assigned);
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused());
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5_000);
    }
}

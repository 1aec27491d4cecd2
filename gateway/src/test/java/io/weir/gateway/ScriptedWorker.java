package io.weir.gateway;

import io.weir.infra.json.Json;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.ReplySender;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * A worker the test drives by hand, speaking the Kafka protocol every worker speaks (README, "Submitting over
 * Kafka"): it takes the requests of a model from the model's topic and replies only when told to, so a call
 * can be kept running for as long as a test needs. Requests of other tenants are left alone.
 */
final class ScriptedWorker implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final ReplySender replies;
    private final LinkedBlockingQueue<CompletionRequest> received = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean running = true;

    ScriptedWorker(String bootstrapServers, String model) {
        KafkaClients kafka = new KafkaClients(bootstrapServers);
        var spec = Topics.modelRequests(model);
        try (var admin = kafka.admin()) {
            Topics.ensure(admin, spec);
        }
        consumer = kafka.standaloneConsumer("scripted-worker");
        List<TopicPartition> partitions = IntStream.range(0, spec.partitions()).mapToObj(p -> new TopicPartition(spec.name(), p)).toList();
        consumer.assign(partitions);
        consumer.seekToEnd(partitions);
        partitions.forEach(consumer::position); // from now on: earlier requests (other tests) are not ours
        producer = kafka.producer("scripted-worker");
        replies = new ReplySender(producer);
        thread = Thread.ofPlatform().name("scripted-worker").start(this::run);
    }

    private void run() {
        try {
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    received.add(Json.fromBytes(r.value(), CompletionRequest.class));
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            consumer.close();
        }
    }

    /** The next request of {@code tenant} to arrive within {@code within}, or null. */
    CompletionRequest next(String tenant, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        for (long left = within.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            CompletionRequest r = received.poll(left, TimeUnit.NANOSECONDS);
            if (r != null && tenant.equals(r.tenant())) {
                return r;
            }
        }
        return null;
    }

    /** Sends a token event: {@code completionTokens} generated so far, the last one if {@code finished}. */
    void token(CompletionRequest request, int seq, String text, int promptTokens, int completionTokens, boolean finished) {
        batch(request.replyTopic(), List.of(tokenEvent(request, seq, text, promptTokens, completionTokens, finished)));
    }

    static CompletionEvent tokenEvent(CompletionRequest request, int seq, String text, int promptTokens, int completionTokens,
                                      boolean finished) {
        return new CompletionEvent(request.requestId(), seq, CompletionEvent.Kind.TOKEN, text, seq, text, null, null,
                promptTokens, completionTokens, finished, finished ? "length" : null, null);
    }

    /** Sends events, of any requests replying to {@code replyTopic}, as one record: what a busy worker does. */
    void batch(String replyTopic, List<CompletionEvent> events) {
        replies.send(replyTopic, events);
        producer.flush();
    }

    void fail(CompletionRequest request, int seq, int status, String message) {
        batch(request.replyTopic(), List.of(CompletionEvent.error(request.requestId(), seq, status, message)));
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5_000);
        producer.close(Duration.ofSeconds(2));
    }
}

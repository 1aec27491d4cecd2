package io.weir.completion;

import io.weir.infra.json.Json;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.ReplySender;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.topics.Topics;
import io.weir.registry.EndpointStatus;
import io.weir.registry.FleetAssignments;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the public request topic and forwards each request to the topic of the workers serving its
 * model. Requests for unknown or failed models are answered with an error event instead. Offsets are
 * committed only after the forwarded records are acknowledged, so nothing accepted is lost.
 *
 * <p>This is the one place that sees every request: tenant fairness, scale-from-zero waits and
 * resuming a stream on another worker belong here.
 */
final class RequestDispatcher implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RequestDispatcher.class);
    static final String GROUP = "weir-completion-service";

    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final ReplySender replies;
    private final Admin admin;
    private final ModelRegistry registry;
    private final FleetAssignments fleet;
    private final Set<String> knownTopics = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean running = true;

    RequestDispatcher(KafkaClients kafka, ModelRegistry registry, FleetAssignments fleet, String instanceId) {
        this.fleet = fleet;
        this.consumer = kafka.groupConsumer("completion-service-" + instanceId, GROUP);
        this.producer = kafka.producer("completion-service-" + instanceId);
        this.replies = new ReplySender(producer);
        this.admin = kafka.admin();
        this.registry = registry;
        Topics.ensure(admin, Topics.completionRequests());
        consumer.subscribe(List.of(Topics.COMPLETION_REQUESTS));
        this.thread = Thread.ofPlatform().name("completion-dispatcher").start(this);
    }

    @Override
    public void run() {
        try {
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
                if (records.isEmpty()) {
                    continue;
                }
                for (ConsumerRecord<String, byte[]> record : records) {
                    dispatch(record);
                }
                producer.flush();
                consumer.commitSync();
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (RuntimeException e) {
            LOG.error("dispatcher stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void dispatch(ConsumerRecord<String, byte[]> record) {
        CompletionRequest request;
        try {
            request = Json.fromBytes(record.value(), CompletionRequest.class);
        } catch (RuntimeException e) {
            LOG.warn("skipping unreadable request at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
            return;
        }
        Optional<String> problem = check(request);
        if (problem.isPresent()) {
            int status = problem.get().startsWith("model") ? 404 : 400;
            replies.send(request.replyTopic(), CompletionEvent.error(request.requestId(), 0, status, problem.get()));
            return;
        }
        var topic = Topics.modelRequests(request.model());
        if (knownTopics.add(topic.name())) {
            Topics.ensure(admin, topic);
        }
        fleet.recordDemand(request.model(), System.currentTimeMillis()); // wakes an endpoint scaled to zero
        producer.send(new ProducerRecord<>(topic.name(), request.requestId(), Json.toBytes(withPinnedSeed(request))));
    }

    /**
     * Gives an unseeded request a seed of its own, so that if its worker dies and another worker takes it
     * over, the replay samples the very same tokens and the client's stream continues without a seam.
     */
    static CompletionRequest withPinnedSeed(CompletionRequest r) {
        if (r.sampling().seed() != null) {
            return r;
        }
        return r.withSampling(r.sampling().withSeed(java.util.concurrent.ThreadLocalRandom.current().nextLong()));
    }

    private Optional<String> check(CompletionRequest request) {
        if (request.requestId() == null || request.sampling() == null || request.prompt() == null) {
            return Optional.of("request needs request_id, prompt and sampling");
        }
        Optional<ModelEndpoint> endpoint = request.model() == null ? Optional.empty() : registry.get(request.model());
        if (endpoint.isEmpty()) {
            return Optional.of("model endpoint '" + request.model() + "' not found");
        }
        if (endpoint.get().status() == EndpointStatus.UPDATE_FAILED || endpoint.get().status() == EndpointStatus.DELETE_IN_PROGRESS) {
            return Optional.of("model endpoint '" + request.model() + "' is " + endpoint.get().status()
                    + Optional.ofNullable(endpoint.get().statusReason()).map(r -> ": " + r).orElse(""));
        }
        return Optional.empty();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5_000);
        producer.close(Duration.ofSeconds(2));
        admin.close(Duration.ofSeconds(2));
    }
}

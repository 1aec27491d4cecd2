package io.weir.completion;

import io.weir.infra.json.Json;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.kafka.OffsetTracker;
import io.weir.infra.kafka.ReplySender;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.topics.Topics;
import io.weir.registry.EndpointCache;
import io.weir.registry.EndpointStatus;
import io.weir.registry.FleetAssignments;
import io.weir.registry.ModelEndpoint;
import io.weir.registry.ModelRegistry;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Reads the public request topic and forwards each request to the topic of the workers serving its
 * model. Requests for unknown or failed models are answered with an error event instead. A request's offset
 * becomes committable once its forwarded record is acknowledged ({@link OffsetTracker}), so nothing accepted is
 * lost; the loop never waits for acknowledgements or commits (it used to flush and commit synchronously after
 * every poll, and under load requests queued behind those round trips: 32 requests sent at once took ~150 ms to
 * get through).
 *
 * <p>This is the one place that sees every request: tenant fairness, scale-from-zero waits and
 * resuming a stream on another worker belong here.
 */
final class RequestDispatcher implements Runnable, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RequestDispatcher.class);
    static final String GROUP = "weir-completion-service";
    private static final long DEMAND_EVERY_MS = 1_000;

    private final KafkaConsumer<String, byte[]> consumer;
    private final KafkaProducer<String, byte[]> producer;
    private final ReplySender replies;
    private final Admin admin;
    private final EndpointCache endpoints;
    private final FleetAssignments fleet;
    private final Map<String, Long> demandRecordedAt = new HashMap<>(); // dispatcher thread only
    private final Set<String> knownTopics = ConcurrentHashMap.newKeySet();
    private final OffsetTracker offsets = new OffsetTracker(); // dispatcher thread only
    private final Queue<ConsumerRecord<String, byte[]>> forwarded = new ConcurrentLinkedQueue<>(); // acknowledged
    private final Thread thread;
    private volatile boolean running = true;

    RequestDispatcher(KafkaClients kafka, ModelRegistry registry, FleetAssignments fleet, String instanceId) {
        this.fleet = fleet;
        this.consumer = kafka.groupConsumer("completion-service-" + instanceId, GROUP);
        this.producer = kafka.producer("completion-service-" + instanceId);
        this.replies = new ReplySender(producer);
        this.admin = kafka.admin();
        this.endpoints = new EndpointCache(registry, e -> !refused(e));
        Topics.ensure(admin, Topics.completionRequests());
        consumer.subscribe(List.of(Topics.COMPLETION_REQUESTS), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                commitForwarded();
                offsets.revoked(partitions); // what is still unacknowledged goes to the new owner as well
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            }
        });
        this.thread = Thread.ofPlatform().name("completion-dispatcher").start(this);
    }

    @Override
    public void run() {
        try {
            while (running) {
                ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<String, byte[]> record : records) {
                    offsets.started(new TopicPartition(record.topic(), record.partition()), record.offset());
                    dispatch(record);
                }
                commitForwarded();
            }
        } catch (WakeupException e) {
            if (running) {
                throw e;
            }
        } catch (RuntimeException e) {
            LOG.error("dispatcher stopped", e);
        } finally {
            producer.flush();
            commitForwarded();
            consumer.close(Duration.ofSeconds(2));
        }
    }

    /** Commits the offsets of requests forwarded and acknowledged so far (asynchronously: nothing waits for it). */
    private void commitForwarded() {
        offsets.commit(forwarded, consumer, "requests may be forwarded twice");
    }

    private void dispatch(ConsumerRecord<String, byte[]> record) {
        CompletionRequest request;
        try {
            request = Json.fromBytes(record.value(), CompletionRequest.class);
        } catch (RuntimeException e) {
            LOG.warn("skipping unreadable request at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
            forwarded.add(record);
            return;
        }
        Optional<String> problem = check(request);
        if (problem.isPresent()) {
            int status = problem.get().startsWith("model") ? 404 : 400;
            answerWithError(record, request, status, problem.get());
            return;
        }
        var topic = Topics.modelRequests(request.model());
        if (knownTopics.add(topic.name())) {
            Topics.ensure(admin, topic);
        }
        recordDemand(request.model());
        producer.send(new ProducerRecord<>(topic.name(), request.requestId(), Json.toBytes(withPinnedSeed(request))),
                (meta, error) -> {
                    if (error == null) {
                        forwarded.add(record);
                        return;
                    }
                    // the caller hears of it rather than waiting for its deadline
                    LOG.error("request {} could not be forwarded to {}: {}", request.requestId(), topic.name(), error.toString());
                    answerWithError(record, request, 503, "the request could not be handed to the model's workers: "
                            + error.getMessage());
                });
    }

    /** Answers a request with an error event; its offset becomes committable once that answer is acknowledged. */
    private void answerWithError(ConsumerRecord<String, byte[]> record, CompletionRequest request, int status, String message) {
        replies.refuse(request, status, message).thenRun(() -> forwarded.add(record));
    }

    /**
     * Tells the fleet a model is wanted (wakes an endpoint scaled to zero; keeps a busy one from being scaled down), at
     * most once a second per model: a cluster write per request cost CPU the engine needs, and idle times are minutes.
     */
    private void recordDemand(String model) {
        long now = System.currentTimeMillis();
        Long last = demandRecordedAt.get(model);
        if (last == null || now - last >= DEMAND_EVERY_MS) {
            demandRecordedAt.put(model, now);
            fleet.recordDemand(model, now);
        }
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
        Optional<ModelEndpoint> endpoint = request.model() == null ? Optional.empty() : endpoints.get(request.model());
        if (endpoint.isEmpty()) {
            return Optional.of("model endpoint '" + request.model() + "' not found");
        }
        if (refused(endpoint.get())) {
            return Optional.of("model endpoint '" + request.model() + "' is " + endpoint.get().status()
                    + Optional.ofNullable(endpoint.get().statusReason()).map(r -> ": " + r).orElse(""));
        }
        return Optional.empty();
    }

    private static boolean refused(ModelEndpoint endpoint) {
        return endpoint.status() == EndpointStatus.UPDATE_FAILED || endpoint.status() == EndpointStatus.DELETE_IN_PROGRESS;
    }

    @Override
    public void close() throws Exception {
        running = false;
        consumer.wakeup();
        thread.join(5_000);
        endpoints.close();
        producer.close(Duration.ofSeconds(2));
        admin.close(Duration.ofSeconds(2));
    }
}

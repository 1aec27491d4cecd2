package io.weir.infra.topics;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;

/**
 * Every Kafka topic Weir uses: its name, key, partitions and retention. This is the contract for
 * producers outside Weir too (see README, "Submitting over Kafka").
 *
 * <pre>
 * weir.completions.requests     key request_id, value CompletionRequest JSON. Public entry point:
 *                               the gateway and external producers write here; completion-service reads.
 * weir.model.&lt;name&gt;.requests    key request_id, value CompletionRequest JSON. Written by completion-service,
 *                               read by the consumer group weir-workers.&lt;name&gt; (every worker serving the model).
 * weir.replies.&lt;instance&gt;       key: the topic name; value: a JSON array of CompletionEvents, in order, of any
 *                               requests (ReplyRecords). One per reply consumer (each gateway instance has its
 *                               own); a request names it in reply_topic.
 * weir.control.cancels          key request_id, value CancelRequest JSON. Anyone writes (the gateway when a caller
 *                               leaves, times out or loses a race); every worker reads all of it with its own
 *                               group-less consumer from the end, so each sees every cancel.
 * </pre>
 */
public final class Topics {
    public static final String COMPLETION_REQUESTS = "weir.completions.requests";
    public static final String CANCELS = "weir.control.cancels";
    private static final String MODEL_PREFIX = "weir.model.";
    private static final String REPLIES_PREFIX = "weir.replies.";

    /** Model endpoint names double as topic name parts, so they are restricted to Kafka-safe characters. */
    public static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private static final int REQUEST_PARTITIONS = 8;
    private static final String ONE_DAY_MS = String.valueOf(24L * 3600 * 1000);
    private static final String ONE_HOUR_MS = String.valueOf(3600L * 1000);

    private Topics() {
    }

    /** A topic to create: its name, partition count and topic-level configs. */
    public record TopicSpec(String name, int partitions, Map<String, String> configs) {
    }

    public static TopicSpec completionRequests() {
        return new TopicSpec(COMPLETION_REQUESTS, REQUEST_PARTITIONS, Map.of("retention.ms", ONE_DAY_MS));
    }

    /** Requests for one model; its partitions are shared out among the workers serving it. */
    public static TopicSpec modelRequests(String model) {
        if (!MODEL_NAME.matcher(model).matches()) {
            throw new IllegalArgumentException("model name not usable in a topic: " + model);
        }
        return new TopicSpec(MODEL_PREFIX + model + ".requests", REQUEST_PARTITIONS, Map.of("retention.ms", ONE_DAY_MS));
    }

    /** The consumer group of the workers serving a model. */
    public static String modelWorkerGroup(String model) {
        return "weir-workers." + model;
    }

    /** A reply topic for one consumer instance; one partition keeps a request's events in order. */
    public static TopicSpec replies(String instanceId) {
        return new TopicSpec(REPLIES_PREFIX + instanceId, 1, Map.of("retention.ms", ONE_HOUR_MS));
    }

    /**
     * Cancels for any request on any worker. Workers read it without a group, from the end; one partition
     * keeps that cheap, and cancels are few. Kept briefly: a cancel matters only while its request runs.
     */
    public static TopicSpec cancels() {
        return new TopicSpec(CANCELS, 1, Map.of("retention.ms", ONE_HOUR_MS));
    }

    /** Creates the topics that do not exist yet; existing ones are left as they are. */
    public static void ensure(Admin admin, TopicSpec... specs) {
        List<NewTopic> topics = java.util.Arrays.stream(specs)
                .map(s -> new NewTopic(s.name(), s.partitions(), (short) -1).configs(s.configs()))
                .toList();
        for (var entry : admin.createTopics(topics).values().entrySet()) {
            try {
                entry.getValue().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException("cannot create topic " + entry.getKey() + ": " + e.getCause().getMessage(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating topic " + entry.getKey(), e);
            }
        }
    }
}

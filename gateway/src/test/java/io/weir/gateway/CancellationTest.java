package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.kafka.KafkaClients;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.testing.TestBrokers;
import io.weir.infra.topics.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cancellation end to end: a caller that goes away, or whose deadline passes, stops the generation on the
 * worker, frees the sequence slot and has its Kafka offset committed. The stack runs one sequence per
 * model ({@code --max-seqs 1}), so a second request can run only once the first has left its slot. The
 * long requests run on {@link SlowModel}: stories260K writes 400 tokens here in about 80 ms, about what
 * a cancel takes to travel in a bad moment, so only a slower model makes "stopped before the end" a
 * deterministic assertion. The worker's side is read from the reply topic ({@link WorkerEvents}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CancellationTest {
    private static final String AUTH = "authorization";
    private static final String PROMPT = "Once upon a time";
    private static final int LONG = 400;

    @AutoClose
    private TestStack stack;
    @AutoClose
    private WorkerEvents events;

    @BeforeAll
    void start() throws Exception {
        String[] slow = SlowModel.modelArgs();
        stack = TestStack.start(TestBrokers.embedded(), "--max-seqs", "1", slow[0], slow[1]);
        events = new WorkerEvents(TestBrokers.embedded(), stack);
    }


    private static String body(Map<String, Object> fields) {
        return Json.toString(fields);
    }

    @ParameterizedTest
    @EnumSource(HttpClient.Version.class)
    void aClientHangingUpMidStreamStopsItsGenerationAndFreesItsSlot(HttpClient.Version version) throws Exception {
        HttpTestClient client = new HttpTestClient(stack.baseUrl, version);
        String requestId;
        StringBuilder firstThree = new StringBuilder();
        try (HttpTestClient.OpenStream stream = client.openStream("/v1/llm/completions-stream?model_endpoint_name=" + SlowModel.NAME,
                body(Map.of("prompt", PROMPT, "max_new_tokens", LONG, "temperature", 0)), AUTH, HttpTestClient.basic(TestStack.KEY))) {
            assertEquals(200, stream.status());
            JsonNode chunk = stream.nextEvent();
            requestId = chunk.get("request_id").asText();
            firstThree.append(chunk.get("output").get("text").asText());
            for (int i = 0; i < 2; i++) {
                firstThree.append(stream.nextEvent().get("output").get("text").asText());
            }
        } // hangs up

        // With one slot, this runs only once the first has left it; greedy, it repeats the first's start.
        HttpTestClient.Response second = client.post("/v1/llm/completions-sync?model_endpoint_name=" + SlowModel.NAME,
                body(Map.of("prompt", PROMPT, "max_new_tokens", 3, "temperature", 0)), AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, second.status(), second.body());
        assertEquals(firstThree.toString(), second.json().get("output").get("text").asText());

        CompletionEvent last = events.last(requestId);
        assertEquals("cancelled", last.finishReason(), "the worker stopped the request the client left");
        assertTrue(last.numCompletionTokens() >= 3 && last.numCompletionTokens() < LONG,
                "generated " + last.numCompletionTokens() + " of " + LONG + " tokens before the cancel");
        assertEquals(last.numCompletionTokens(), events.all(requestId).size() - 1, "one event per token, then the cancelled one");
        awaitEveryRequestCommitted(SlowModel.NAME);
    }

    @Test
    void aCallPastItsDeadlineIsCancelledOnTheWorker() {
        // The batch route names each call's request id, even for a call that failed.
        HttpTestClient.Response r = new HttpTestClient(stack.baseUrl).post("/v1/batch/completions",
                body(Map.of("model", SlowModel.NAME, "prompts", java.util.List.of(PROMPT), "max_new_tokens", LONG,
                        "temperature", 0, "timeout", 0.25)), AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, r.status(), r.body());
        JsonNode slot = r.json().get("results").get(0);
        assertEquals(504, slot.get("error").get("status_code").asInt(), slot.toString());

        CompletionEvent last = events.last(slot.get("request_id").asText());
        assertEquals("cancelled", last.finishReason());
        assertTrue(last.numCompletionTokens() < LONG, "generated " + last.numCompletionTokens() + " of " + LONG);
        awaitEveryRequestCommitted(SlowModel.NAME);
    }

    /** Polls until the model's worker group has committed every request on its topic: none is left to redeliver. */
    private static void awaitEveryRequestCommitted(String model) {
        Topics.TopicSpec topic = Topics.modelRequests(model);
        Map<TopicPartition, OffsetSpec> partitions = IntStream.range(0, topic.partitions())
                .mapToObj(p -> new TopicPartition(topic.name(), p))
                .collect(Collectors.toMap(Function.identity(), p -> OffsetSpec.latest()));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        try (Admin admin = new KafkaClients(TestBrokers.embedded()).admin()) {
            while (true) {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(Topics.modelWorkerGroup(model))
                        .partitionsToOffsetAndMetadata().get();
                var ends = admin.listOffsets(partitions).all().get();
                boolean allCommitted = ends.entrySet().stream().allMatch(e -> e.getValue().offset() == 0
                        || (committed.get(e.getKey()) != null && committed.get(e.getKey()).offset() == e.getValue().offset()));
                if (allCommitted) {
                    return;
                }
                assertTrue(System.nanoTime() < deadline, "requests left uncommitted: ends " + ends + ", committed " + committed);
                Thread.onSpinWait();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }
}

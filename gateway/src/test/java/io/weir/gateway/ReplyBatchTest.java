package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * A busy worker sends the events of many requests in one reply record (README, "Submitting over Kafka"); the
 * gateway must hand each request exactly its own events, in order, once. The worker is played by the test
 * ({@link ScriptedWorker}) so the batch's content is exact: interleaved requests, a replayed event, the ends.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplyBatchTest {
    private static final String KEY = "reply-batch-test-key";
    private static final String TENANT = "reply-batch";
    private static final String STREAM = "/v1/llm/completions-stream?model_endpoint_name=" + TestStack.MODEL;
    private static final String SYNC = "/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL;
    private static final String BODY = "{\"prompt\": \"Once upon a time\", \"max_new_tokens\": 3, \"temperature\": 0}";

    private ScriptedStack scripted;

    @BeforeAll
    void start() throws Exception {
        scripted = ScriptedStack.start("reply-batch-test", List.of("--api-key", KEY + ":" + TENANT));
    }

    @AfterAll
    void stop() throws Exception {
        if (scripted != null) {
            scripted.close();
        }
    }

    @Test
    void eachRequestGetsItsOwnEventsFromASharedRecordInOrderAndOnce() throws Exception {
        CompletableFuture<HttpResponse<String>> streamed = scripted.client.exchangeAsync("POST", STREAM, BODY, "authorization",
                "Bearer " + KEY);
        CompletionRequest a = scripted.worker.next(TENANT, Duration.ofSeconds(20));
        CompletableFuture<HttpResponse<String>> synced = scripted.client.exchangeAsync("POST", SYNC, BODY, "authorization",
                "Bearer " + KEY);
        CompletionRequest b = scripted.worker.next(TENANT, Duration.ofSeconds(20));
        assertNotNull(a, "the stream reached the worker");
        assertNotNull(b, "the sync call reached the worker");

        List<CompletionEvent> first = new ArrayList<>();
        first.add(ScriptedWorker.tokenEvent(a, 0, "Once", 4, 1, false));
        first.add(ScriptedWorker.tokenEvent(b, 0, "One", 4, 1, false));
        first.add(ScriptedWorker.tokenEvent(a, 1, " upon", 4, 2, false));
        first.add(ScriptedWorker.tokenEvent(a, 0, "Once", 4, 1, false)); // replayed: dropped
        first.add(ScriptedWorker.tokenEvent(b, 1, " day", 4, 2, false));
        scripted.worker.batch(a.replyTopic(), first);
        scripted.worker.batch(a.replyTopic(), List.of(ScriptedWorker.tokenEvent(b, 2, " it", 4, 3, true),
                ScriptedWorker.tokenEvent(a, 2, " a", 4, 3, true)));

        HttpResponse<String> stream = streamed.get(30, TimeUnit.SECONDS);
        assertEquals(200, stream.statusCode(), stream.body());
        List<JsonNode> chunks = stream.body().lines().filter(l -> l.startsWith("data:"))
                .map(l -> Json.fromString(l.substring(5), JsonNode.class)).toList();
        assertEquals(List.of("Once", " upon", " a"), chunks.stream().map(c -> c.get("output").get("text").asText()).toList(),
                stream.body());
        assertEquals(List.of(1, 2, 3), chunks.stream().map(c -> c.get("output").get("num_completion_tokens").asInt()).toList());
        assertEquals(List.of(false, false, true), chunks.stream().map(c -> c.get("output").get("finished").asBoolean()).toList());

        HttpResponse<String> sync = synced.get(30, TimeUnit.SECONDS);
        assertEquals(200, sync.statusCode(), sync.body());
        assertEquals("One day it", Json.fromString(sync.body(), JsonNode.class).get("output").get("text").asText());
    }
}

package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.testing.TestBrokers;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LiteLLM's batch modes as routes, end to end on the real stack: stories260K served twice (as itself and
 * as {@link #TWIN}), plus {@link SlowModel}, which loses every race to stories260K by a wide margin on any
 * backend, so that the cancel of a race's loser can be seen on its worker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchCompletionTest {
    private static final String AUTH = "authorization";
    private static final String TWIN = "stories260K-twin";
    private static final String UNKNOWN = "no-such-model";

    @AutoClose
    private TestStack stack;
    private HttpTestClient client;
    @AutoClose
    private WorkerEvents events;
    private List<JsonNode> golden;

    @BeforeAll
    void start() throws Exception {
        Path model = TestModels.require(TestStack.MODEL);
        golden = new ArrayList<>();
        Json.MAPPER.readTree(model.resolve("golden.json").toFile()).get("cases").forEach(golden::add);
        String[] slow = SlowModel.modelArgs();
        stack = TestStack.start(TestBrokers.embedded(), "--model", TWIN + "=" + model, slow[0], slow[1]);
        client = new HttpTestClient(stack.baseUrl);
        events = new WorkerEvents(TestBrokers.embedded(), stack);
    }


    private HttpTestClient.Response post(String path, Map<String, Object> body) {
        return post(path, Json.toString(body));
    }

    private HttpTestClient.Response post(String path, String body) {
        return client.post(path, body, AUTH, HttpTestClient.basic(TestStack.KEY));
    }

    private static Map<String, Object> greedy(String key, Object value, int maxNewTokens) {
        return Map.of(key, value, "max_new_tokens", maxNewTokens, "temperature", 0);
    }

    private static Map<String, Object> with(Map<String, Object> base, String key, Object value) {
        Map<String, Object> m = new java.util.HashMap<>(base);
        m.put(key, value);
        return m;
    }

    private static void assertGoldenSlot(JsonNode c, String model, JsonNode slot) {
        assertEquals(model, slot.get("model").asText(), slot.toString());
        assertTrue(slot.get("error").isNull(), slot.toString());
        assertEquals(c.get("completion_text").asText(), slot.get("output").get("text").asText(), "text for " + c.get("id").asText());
        assertEquals(c.get("prompt_token_ids").size(), slot.get("output").get("num_prompt_tokens").asInt());
        assertEquals(32, slot.get("output").get("num_completion_tokens").asInt());
        assertEquals("length", slot.get("output").get("finish_reason").asText());
    }

    @Test
    void manyPromptsComeBackInInputOrderWithTheGoldenTexts() {
        List<JsonNode> cases = new ArrayList<>(golden);
        Collections.reverse(cases); // an order of our own, not the golden file's
        List<String> prompts = cases.stream().map(c -> c.get("prompt").asText()).toList();
        HttpTestClient.Response r = post("/v1/batch/completions", with(greedy("prompts", prompts, 32), "model", TestStack.MODEL));
        assertEquals(200, r.status(), r.body());
        JsonNode results = r.json().get("results");
        assertEquals(cases.size(), results.size());
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < cases.size(); i++) {
            assertGoldenSlot(cases.get(i), TestStack.MODEL, results.get(i));
            ids.add(results.get(i).get("request_id").asText());
        }
        assertEquals(cases.size(), ids.size(), "one request per prompt");
    }

    @Test
    void aPromptTooLongForTheContextFailsOnlyItsOwnSlot() {
        String tooLong = "Once upon a time there was a cat. ".repeat(80);
        List<String> prompts = List.of(golden.get(0).get("prompt").asText(), tooLong, golden.get(2).get("prompt").asText());
        HttpTestClient.Response r = post("/v1/batch/completions", with(greedy("prompts", prompts, 32), "model", TestStack.MODEL));
        assertEquals(200, r.status(), r.body());
        JsonNode results = r.json().get("results");
        assertGoldenSlot(golden.get(0), TestStack.MODEL, results.get(0));
        assertTrue(results.get(1).get("output").isNull());
        assertEquals(400, results.get(1).get("error").get("status_code").asInt());
        assertTrue(results.get(1).get("error").get("detail").asText().contains("maximum context length"), results.get(1).toString());
        assertGoldenSlot(golden.get(2), TestStack.MODEL, results.get(2));
    }

    @Test
    void manyPromptsToAnUnknownModelIs404() {
        HttpTestClient.Response r = post("/v1/batch/completions", with(greedy("prompts", List.of("x"), 4), "model", UNKNOWN));
        assertEquals(404, r.status(), r.body());
        assertTrue(r.json().get("detail").asText().contains(UNKNOWN));
    }

    @Test
    void theFastestModelWinsAndTheSlowerOneIsCancelledOnItsWorker() {
        JsonNode c = golden.getFirst();
        int maxNewTokens = 100;
        HttpTestClient.Response r = post("/v1/batch/completion-models",
                with(greedy("models", List.of(SlowModel.NAME, TestStack.MODEL, UNKNOWN), maxNewTokens), "prompt", c.get("prompt").asText()));
        assertEquals(200, r.status(), r.body());
        JsonNode winner = r.json();
        assertEquals(TestStack.MODEL, winner.get("model").asText());
        assertTrue(winner.get("output").get("text").asText().startsWith(c.get("completion_text").asText()), winner.toString());

        JsonNode losers = winner.get("losers");
        assertEquals(2, losers.size());
        JsonNode slow = losers.get(0);
        assertEquals(SlowModel.NAME, slow.get("model").asText());
        assertEquals("cancelled", slow.get("outcome").asText());
        JsonNode unknown = losers.get(1);
        assertEquals("failed", unknown.get("outcome").asText());
        assertEquals(404, unknown.get("error").get("status_code").asInt());

        CompletionEvent last = events.last(slow.get("request_id").asText());
        assertEquals("cancelled", last.finishReason());
        assertTrue(last.numCompletionTokens() < maxNewTokens, "the loser generated " + last.numCompletionTokens() + " of " + maxNewTokens);
    }

    @Test
    void aRaceNoModelAnswersFailsWithTheirErrors() {
        HttpTestClient.Response r = post("/v1/batch/completion-models",
                with(greedy("models", List.of(UNKNOWN, UNKNOWN + "-2"), 4), "prompt", "Once"));
        assertEquals(404, r.status(), r.body());
        String detail = r.json().get("detail").asText();
        assertTrue(detail.contains(UNKNOWN + ":") && detail.contains(UNKNOWN + "-2:"), detail);
    }

    @Test
    void allModelsAnswersComeBackInModelsOrderWithoutTheFailures() {
        JsonNode c = golden.get(3);
        HttpTestClient.Response r = post("/v1/batch/completion-models/all",
                with(greedy("models", List.of(TWIN, UNKNOWN, TestStack.MODEL), 32), "prompt", c.get("prompt").asText()));
        assertEquals(200, r.status(), r.body());
        JsonNode results = r.json().get("results");
        assertEquals(2, results.size(), results.toString());
        assertGoldenSlot(c, TWIN, results.get(0));
        assertGoldenSlot(c, TestStack.MODEL, results.get(1));
        JsonNode failed = r.json().get("failed");
        assertEquals(1, failed.size());
        assertEquals(UNKNOWN, failed.get(0).get("model").asText());
        assertEquals(404, failed.get(0).get("error").get("status_code").asInt());
    }

    @TestFactory
    Stream<DynamicTest> badBatchBodiesAreRefusedWhole() {
        record Bad(String name, String path, Map<String, Object> body, int status, String detailContains) {
        }
        Map<String, Object> prompts = with(greedy("prompts", List.of("Once"), 4), "model", TestStack.MODEL);
        Map<String, Object> models = with(greedy("models", List.of(TestStack.MODEL), 4), "prompt", "Once");
        List<String> seventeen = IntStream.range(0, 17).mapToObj(i -> TestStack.MODEL).toList();
        List<Bad> cases = List.of(
                new Bad("no prompts", "/v1/batch/completions", with(prompts, "prompts", List.of()), 422, "at least 1"),
                new Bad("prompts not a list", "/v1/batch/completions", with(prompts, "prompts", "Once"), 422, "prompts"),
                new Bad("a prompt not a string", "/v1/batch/completions", with(prompts, "prompts", List.of("a", 3)), 422, "prompts"),
                new Bad("no model", "/v1/batch/completions", greedy("prompts", List.of("Once"), 4), 422, "model"),
                new Bad("temperature above 1", "/v1/batch/completions", with(prompts, "temperature", 1.5), 422, "temperature"),
                new Bad("max_new_tokens zero", "/v1/batch/completions", with(prompts, "max_new_tokens", 0), 400, "max_new_tokens"),
                new Bad("no models", "/v1/batch/completion-models", with(models, "models", List.of()), 422, "at least 1"),
                new Bad("too many models", "/v1/batch/completion-models/all", with(models, "models", seventeen), 422, "at most 16"),
                new Bad("no prompt", "/v1/batch/completion-models", greedy("models", List.of(TestStack.MODEL), 4), 422, "prompt"));
        return cases.stream().map(bad -> DynamicTest.dynamicTest(bad.name(), () -> {
            HttpTestClient.Response r = post(bad.path(), bad.body());
            assertEquals(bad.status(), r.status(), r.body());
            assertTrue(r.json().get("detail").toString().contains(bad.detailContains()), r.body());
        }));
    }

    @Test
    void batchRoutesNeedAKey() {
        assertEquals(401, client.post("/v1/batch/completions", "{}").status());
        assertEquals(401, client.post("/v1/batch/completion-models", "{}").status());
    }
}

package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestBrokers;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scale EGP's {@code POST /v4/completions}, end to end on stories260K against its golden outputs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EgpCompletionTest {
    @AutoClose
    private TestStack stack;
    private HttpTestClient client;
    private List<JsonNode> golden;

    @BeforeAll
    void start() throws Exception {
        golden = new ArrayList<>();
        Json.MAPPER.readTree(TestModels.require(TestStack.MODEL).resolve("golden.json").toFile()).get("cases").forEach(golden::add);
        stack = TestStack.start(TestBrokers.embedded());
        client = new HttpTestClient(stack.baseUrl);
    }


    private static Map<String, Object> body(String model, String prompt, Map<String, Object> parameters, boolean stream) {
        Map<String, Object> b = new HashMap<>(Map.of("model", model, "prompt", prompt, "stream", stream));
        if (parameters != null) {
            b.put("model_parameters", parameters);
        }
        return b;
    }

    private static Map<String, Object> greedy(int maxTokens) {
        return Map.of("temperature", 0, "max_tokens", maxTokens);
    }

    private HttpTestClient.Response create(Map<String, Object> body) {
        return client.post("/v4/completions", Json.toString(body), "x-api-key", TestStack.KEY);
    }

    private HttpTestClient.Stream stream(Map<String, Object> body) {
        return client.stream("/v4/completions", Json.toString(body), "x-api-key", TestStack.KEY);
    }

    @TestFactory
    Stream<DynamicTest> theCompletionIsTheGoldenText() {
        return golden.stream().map(c -> DynamicTest.dynamicTest(c.get("id").asText(), () -> {
            HttpTestClient.Response r = create(body(TestStack.MODEL, c.get("prompt").asText(), greedy(32), false));
            assertEquals(200, r.status(), r.body());
            JsonNode completion = r.json().get("completion");
            assertEquals(c.get("completion_text").asText(), completion.get("text").asText());
            assertEquals("length", completion.get("finish_reason").asText());
            JsonNode usage = r.json().get("token_usage");
            int promptTokens = c.get("prompt_token_ids").size();
            assertEquals(promptTokens, usage.get("prompt").asInt());
            assertEquals(32, usage.get("completion").asInt());
            assertEquals(promptTokens + 32, usage.get("total").asInt());
        }));
    }

    @Test
    void streamedPiecesJoinToTheGoldenTextAndOnlyTheLastCarriesUsage() {
        JsonNode c = golden.get(3);
        HttpTestClient.Stream s = stream(body(TestStack.MODEL, c.get("prompt").asText(), greedy(32), true));
        assertEquals(200, s.status(), s.raw());
        assertTrue(s.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = s.events();
        assertEquals(32, events.size(), "one event per token");
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < events.size(); i++) {
            JsonNode e = events.get(i);
            boolean last = i == events.size() - 1;
            text.append(e.get("completion").get("text").asText());
            assertEquals(last, !e.get("token_usage").isNull(), "token_usage only on the last event");
            assertEquals(last, !e.get("completion").get("finish_reason").isNull(), "finish_reason only on the last event");
        }
        assertEquals(c.get("completion_text").asText(), text.toString());
        JsonNode usage = events.getLast().get("token_usage");
        assertEquals(c.get("prompt_token_ids").size(), usage.get("prompt").asInt());
        assertEquals(32, usage.get("completion").asInt());
        assertEquals("length", events.getLast().get("completion").get("finish_reason").asText());
    }

    @Test
    void stopSequencesCutTheOutputAndAreLeftOutOfIt() {
        JsonNode c = golden.getFirst(); // ", there was a little girl named Lily. She loved ..."
        String full = c.get("completion_text").asText();
        Map<String, Object> params = new HashMap<>(greedy(32));
        params.put("stop_sequences", List.of("Lily", "no such text"));
        HttpTestClient.Response r = create(body(TestStack.MODEL, c.get("prompt").asText(), params, false));
        assertEquals(200, r.status(), r.body());
        assertEquals(full.substring(0, full.indexOf("Lily")), r.json().get("completion").get("text").asText());
        assertEquals("stop", r.json().get("completion").get("finish_reason").asText());

        StringBuilder streamed = new StringBuilder();
        stream(body(TestStack.MODEL, c.get("prompt").asText(), params, true)).events()
                .forEach(e -> streamed.append(e.get("completion").get("text").asText()));
        assertEquals(full.substring(0, full.indexOf("Lily")), streamed.toString());
    }

    @Test
    void defaultsAndTheSdksParameterNamesAreAccepted() {
        HttpTestClient.Response defaults = create(body(TestStack.MODEL, "Once upon a time", null, false));
        assertEquals(200, defaults.status(), defaults.body());
        int completion = defaults.json().get("token_usage").get("completion").asInt();
        assertTrue(completion >= 1 && completion <= 100, "max_tokens defaults to 100, got " + completion);

        Map<String, Object> sdk = Map.of("temperature", 0.7, "max_tokens", 8, "topK", 20, "topP", 0.9,
                "frequency_penalty", -0.5, "presence_penalty", 0.5);
        HttpTestClient.Response named = create(body(TestStack.MODEL, "Once upon a time", sdk, false));
        assertEquals(200, named.status(), named.body());
        assertFalse(named.json().get("completion").get("text").asText().isEmpty());
    }

    @TestFactory
    Stream<DynamicTest> badParametersAreRefused() {
        record Bad(String name, Map<String, Object> body, int status, String detailContains) {
        }
        String p = "Once upon a time";
        List<Bad> cases = List.of(
                new Bad("temperature above 1", body(TestStack.MODEL, p, Map.of("temperature", 1.5), false), 422, "model_parameters"),
                new Bad("five stop sequences", body(TestStack.MODEL, p, Map.of("stop_sequences", List.of("a", "b", "c", "d", "e")), false), 422, "at most 4"),
                new Bad("topP zero", body(TestStack.MODEL, p, Map.of("topP", 0), false), 422, "topP"),
                new Bad("frequency_penalty above 2", body(TestStack.MODEL, p, Map.of("frequency_penalty", 3), false), 422, "frequency_penalty"),
                new Bad("max_tokens of the wrong type", body(TestStack.MODEL, p, Map.of("max_tokens", "many"), false), 422, "integer"),
                new Bad("model_parameters not an object", new HashMap<>(Map.of("model", TestStack.MODEL, "prompt", p, "model_parameters", 3)), 422, "model_parameters"),
                new Bad("no prompt", Map.of("model", TestStack.MODEL), 422, "prompt"),
                new Bad("no model", Map.of("prompt", p), 422, "model"),
                new Bad("max_tokens zero", body(TestStack.MODEL, p, Map.of("max_tokens", 0), false), 400, "max_tokens"),
                new Bad("prompt + max_tokens over the context", body(TestStack.MODEL, p, Map.of("max_tokens", 600), false), 400, "maximum context length"));
        return cases.stream().map(bad -> DynamicTest.dynamicTest(bad.name(), () -> {
            HttpTestClient.Response r = create(bad.body());
            assertEquals(bad.status(), r.status(), r.body());
            assertTrue(r.json().get("detail").toString().contains(bad.detailContains()), r.body());
        }));
    }

    @Test
    void aSchemaViolationInModelParametersIsLocatedThere() {
        HttpTestClient.Response r = create(body(TestStack.MODEL, "x", Map.of("temperature", 1.5), false));
        assertEquals(422, r.status());
        assertEquals("[\"body\",\"model_parameters\",\"temperature\"]", r.json().get("detail").get(0).get("loc").toString());
    }

    @Test
    void anUnknownModelIs404AndAMissingKey401() {
        assertEquals(404, create(body("no-such-model", "x", greedy(4), false)).status());
        assertEquals(404, stream(body("no-such-model", "x", greedy(4), true)).status());
        assertEquals(401, client.post("/v4/completions", Json.toString(body(TestStack.MODEL, "x", greedy(4), false))).status());
    }
}

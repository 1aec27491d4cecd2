package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestBrokers;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each LLM Engine v1 sampling parameter doing its job, end to end on the real stack and checkpoint.
 * Expected values come from the golden file (an independent float64 reference) or from the model's own
 * reported distribution.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CompletionParametersTest {
    private TestStack stack;
    private HttpTestClient client;
    private JsonNode firstCase;

    @BeforeAll
    void start() throws Exception {
        firstCase = Json.MAPPER.readTree(TestModels.require(TestStack.MODEL).resolve("golden.json").toFile()).get("cases").get(0);
        stack = TestStack.start(TestBrokers.embedded());
        client = new HttpTestClient(stack.baseUrl);
    }

    @AfterAll
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private JsonNode sync(Map<String, Object> body) {
        HttpTestClient.Response r = client.post("/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL,
                Json.toString(body), "authorization", HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, r.status(), r.body());
        return r.json().get("output");
    }

    private String streamText(Map<String, Object> body) {
        HttpTestClient.Stream s = client.stream("/v1/llm/completions-stream?model_endpoint_name=" + TestStack.MODEL,
                Json.toString(body), "authorization", HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, s.status(), s.raw());
        StringBuilder text = new StringBuilder();
        s.events().forEach(e -> text.append(e.get("output").get("text").asText()));
        return text.toString();
    }

    private Map<String, Object> body(String prompt, int maxNewTokens, double temperature) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("prompt", prompt);
        b.put("max_new_tokens", maxNewTokens);
        b.put("temperature", temperature);
        return b;
    }

    private String golden() {
        return firstCase.get("completion_text").asText();
    }

    @Test
    void topKOneEqualsGreedyAtAnyTemperature() {
        Map<String, Object> b = body(firstCase.get("prompt").asText(), 32, 1.0);
        b.put("top_k", 1);
        b.put("seed", 99);
        assertEquals(golden(), sync(b).get("text").asText());
        b.remove("top_k"); // the same seed without top_k samples something else: top_k did the work
        assertNotEquals(golden(), sync(b).get("text").asText());
    }

    @Test
    void stopSequencesCutExactlyAlsoWhenStreamedAndSpanningTokens() {
        // "little girl named" spans several tokens of the golden text.
        String stop = "little girl named";
        Map<String, Object> b = body(firstCase.get("prompt").asText(), 32, 0);
        b.put("stop_sequences", List.of(stop));
        String expected = golden().substring(0, golden().indexOf(stop));
        assertEquals(expected, sync(b).get("text").asText());
        assertEquals(expected, streamText(b));
        b.put("include_stop_str_in_output", true);
        assertEquals(expected + stop, sync(b).get("text").asText());
        assertEquals(expected + stop, streamText(b));
    }

    @Test
    void sameSeedSameTextOtherSeedOtherText() {
        Map<String, Object> b = body("Tom had a big red ball. One day,", 40, 1.0);
        b.put("seed", 7);
        String first = sync(b).get("text").asText();
        assertEquals(first, sync(b).get("text").asText());
        assertEquals(first, streamText(b));
        b.put("seed", 8);
        assertNotEquals(first, sync(b).get("text").asText());
    }

    @Test
    void frequencyPenaltyReducesRepeats() {
        Map<String, Object> plain = body("The little dog was very happy because", 96, 0);
        plain.put("return_token_log_probs", true);
        Map<String, Object> penalised = new HashMap<>(plain);
        penalised.put("frequency_penalty", 2.0);
        penalised.put("presence_penalty", 1.0);
        int plainRepeats = repeats(sync(plain));
        int penalisedRepeats = repeats(sync(penalised));
        assertTrue(penalisedRepeats < plainRepeats, "repeated tokens: " + penalisedRepeats + " with penalties, " + plainRepeats + " without");
    }

    private static int repeats(JsonNode output) {
        List<String> tokens = new ArrayList<>();
        output.get("tokens").forEach(t -> tokens.add(t.get("token").asText()));
        return tokens.size() - new HashSet<>(tokens).size();
    }

    @Test
    void reportedLogProbsAgreeWithTheSamplingDistribution() throws Exception {
        // First token after "Once upon a time": the golden reference gives "," p=0.969 and " there" p=0.029.
        int n = 240;
        ExecutorService pool = Executors.newFixedThreadPool(8);
        Map<String, Integer> counts = new HashMap<>();
        Map<String, Double> reported = new HashMap<>();
        try {
            List<CompletableFuture<JsonNode>> calls = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Map<String, Object> b = body(firstCase.get("prompt").asText(), 1, 1.0);
                b.put("seed", 1000 + i);
                b.put("return_token_log_probs", true);
                calls.add(CompletableFuture.supplyAsync(() -> sync(b).get("tokens").get(0), pool));
            }
            for (var call : calls) {
                JsonNode token = call.get();
                counts.merge(token.get("token").asText(), 1, Integer::sum);
                reported.put(token.get("token").asText(), token.get("log_prob").asDouble());
            }
        } finally {
            pool.shutdownNow();
        }
        JsonNode top = firstCase.get("first_token_top5");
        assertEquals(top.get(0).get("logprob").asDouble(), reported.get(","), 1e-4);
        double expected = Math.exp(reported.get(","));
        double observed = counts.get(",") / (double) n;
        // Binomial standard deviation at p=0.969, n=240 is about 0.011: allow four of them.
        assertEquals(expected, observed, 0.045, "share of ',' among " + n + " samples: " + counts);
        for (var e : reported.entrySet()) {
            assertTrue(e.getValue() <= 0, "a log-probability is at most 0");
        }
    }

    @Test
    void aRequestPastItsTimeoutIs504() {
        Map<String, Object> b = body(firstCase.get("prompt").asText(), 400, 0);
        b.put("timeout", 0.001);
        HttpTestClient.Response r = client.post("/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL,
                Json.toString(b), "authorization", HttpTestClient.basic(TestStack.KEY));
        assertEquals(504, r.status(), r.body());
        assertTrue(r.json().get("detail").asText().contains("did not finish"));
    }
}

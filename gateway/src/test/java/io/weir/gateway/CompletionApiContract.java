package io.weir.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;


import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LLM Engine completion API, end to end: HTTP → gateway → Kafka → completion-service → Kafka → worker
 * (kernel library through FFM) → Kafka reply topic → gateway → JSON or SSE, on the real stories260K
 * checkpoint, checked against golden outputs of an independent float64 reference. Subclasses choose the
 * Kafka broker.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CompletionApiContract {
    private static final String AUTH = "authorization";
    private static final String ADMIN_KEY = "contract-admin-key";
    private TestStack stack;
    private HttpTestClient client;
    private List<JsonNode> goldenCases;

    /** The bootstrap servers of the broker the stack runs on. */
    abstract String bootstrapServers();

    @BeforeAll
    void startStack() throws Exception {
        Path model = TestModels.require(TestStack.MODEL);
        goldenCases = new ArrayList<>();
        Json.MAPPER.readTree(model.resolve("golden.json").toFile()).get("cases").forEach(goldenCases::add);
        stack = TestStack.start(bootstrapServers(), "--api-key", ADMIN_KEY + ":admin");
        client = new HttpTestClient(stack.baseUrl);
    }

    @AfterAll
    void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    private static String body(String prompt, int maxNewTokens, double temperature, boolean logProbs) {
        return Json.toString(java.util.Map.of("prompt", prompt, "max_new_tokens", maxNewTokens,
                "temperature", temperature, "return_token_log_probs", logProbs));
    }

    private HttpTestClient.Response sync(String model, String body) {
        return client.post("/v1/llm/completions-sync?model_endpoint_name=" + model, body, AUTH, HttpTestClient.basic(TestStack.KEY));
    }

    private HttpTestClient.Stream stream(String model, String body) {
        return client.stream("/v1/llm/completions-stream?model_endpoint_name=" + model, body, AUTH, HttpTestClient.basic(TestStack.KEY));
    }

    @TestFactory
    Stream<DynamicTest> syncCompletionsMatchTheGoldenGreedyOutput() {
        return goldenCases.stream().map(c -> DynamicTest.dynamicTest(c.get("id").asText() + " " + c.get("prompt").asText(), () -> {
            HttpTestClient.Response r = sync(TestStack.MODEL, body(c.get("prompt").asText(), 32, 0.0, true));
            assertEquals(200, r.status(), r.body());
            JsonNode out = r.json().get("output");
            assertFalse(r.json().get("request_id").asText().isEmpty());
            assertEquals(c.get("completion_text").asText(), out.get("text").asText());
            assertEquals(c.get("prompt_token_ids").size(), out.get("num_prompt_tokens").asInt());
            assertEquals(32, out.get("num_completion_tokens").asInt());
            JsonNode tokens = out.get("tokens");
            assertEquals(32, tokens.size());
            StringBuilder joined = new StringBuilder();
            tokens.forEach(t -> joined.append(t.get("token").asText()));
            assertEquals(out.get("text").asText(), joined.toString(), "token texts join to the completion text");
            double goldenFirst = c.get("first_token_top5").get(0).get("logprob").asDouble();
            assertEquals(goldenFirst, tokens.get(0).get("log_prob").asDouble(), 1e-4, "first token log-prob");
        }));
    }

    @TestFactory
    Stream<DynamicTest> streamedCompletionsMatchTheGoldenGreedyOutput() {
        return goldenCases.stream().map(c -> DynamicTest.dynamicTest(c.get("id").asText() + " " + c.get("prompt").asText(), () -> {
            HttpTestClient.Stream s = stream(TestStack.MODEL, body(c.get("prompt").asText(), 32, 0.0, false));
            assertEquals(200, s.status(), s.raw());
            assertFalse(s.raw().contains("[DONE]"), "a v1 stream never sends [DONE]");
            List<JsonNode> events = s.events();
            assertTrue(events.size() > 1, "one chunk per token");
            StringBuilder text = new StringBuilder();
            int lastCount = 0;
            for (int i = 0; i < events.size(); i++) {
                JsonNode out = events.get(i).get("output");
                boolean last = i == events.size() - 1;
                assertEquals(last, out.get("finished").asBoolean(), "finished only on the last chunk");
                assertTrue(out.get("num_completion_tokens").asInt() > lastCount, "counts increase");
                lastCount = out.get("num_completion_tokens").asInt();
                text.append(out.get("text").asText());
            }
            assertEquals(c.get("completion_text").asText(), text.toString());
            assertEquals(c.get("prompt_token_ids").size(), events.getLast().get("output").get("num_prompt_tokens").asInt());
        }));
    }

    @Test
    void streamsOverHttp11AsSseStarletteDoes() {
        JsonNode c = goldenCases.getFirst();
        HttpTestClient http11 = new HttpTestClient(stack.baseUrl, java.net.http.HttpClient.Version.HTTP_1_1);
        HttpTestClient.Stream s = http11.stream("/v1/llm/completions-stream?model_endpoint_name=" + TestStack.MODEL,
                body(c.get("prompt").asText(), 32, 0.0, false), AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, s.status());
        assertEquals("text/event-stream; charset=utf-8", s.headers().firstValue("content-type").orElse(""));
        assertEquals("no-cache", s.headers().firstValue("cache-control").orElse(""));
        assertEquals("chunked", s.headers().firstValue("transfer-encoding").orElse(""));
        StringBuilder text = new StringBuilder();
        s.events().forEach(e -> text.append(e.get("output").get("text").asText()));
        assertEquals(c.get("completion_text").asText(), text.toString());
    }

    @Test
    void twentyConcurrentRequestsAreEachAnsweredCorrectly() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(20);
        try {
            List<CompletableFuture<Void>> calls = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                JsonNode c = goldenCases.get(i % goldenCases.size());
                boolean streamed = i % 2 == 1;
                calls.add(CompletableFuture.runAsync(() -> {
                    String b = body(c.get("prompt").asText(), 32, 0.0, false);
                    String text;
                    if (streamed) {
                        StringBuilder sb = new StringBuilder();
                        stream(TestStack.MODEL, b).events().forEach(e -> sb.append(e.get("output").get("text").asText()));
                        text = sb.toString();
                    } else {
                        text = sync(TestStack.MODEL, b).json().get("output").get("text").asText();
                    }
                    assertEquals(c.get("completion_text").asText(), text, "request for " + c.get("id").asText());
                }, pool));
            }
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void unknownModelIs404OnBothRoutes() {
        HttpTestClient.Response r = sync("no-such-model", body("hi", 4, 0, false));
        assertEquals(404, r.status(), r.body());
        assertTrue(r.json().get("detail").asText().contains("no-such-model"));
        assertEquals(404, stream("no-such-model", body("hi", 4, 0, false)).status());
    }

    @Test
    void requestsWithoutAValidKeyAre401AndEveryKeyStyleIsAccepted() {
        String b = body("Once", 2, 0, false);
        String path = "/v1/llm/completions-sync?model_endpoint_name=" + TestStack.MODEL;
        HttpTestClient.Response none = client.post(path, b);
        assertEquals(401, none.status());
        assertEquals("No authentication was passed in", none.json().get("detail").asText());
        assertEquals(401, client.post(path, b, AUTH, HttpTestClient.basic("wrong-key")).status());
        assertEquals(401, client.post(path, b, AUTH, "Bearer wrong-key").status());
        assertEquals(200, client.post(path, b, AUTH, "Bearer " + TestStack.KEY).status());
        assertEquals(200, client.post(path, b, "x-api-key", TestStack.KEY).status());
    }

    @TestFactory
    Stream<DynamicTest> badInputGetsAClear4xxAndTheServerKeepsServing() {
        record Bad(String name, String body, int status, String detailContains) {
        }
        List<Bad> cases = List.of(
                new Bad("malformed JSON", "{\"prompt\": \"x\", ", 422, "JSON"),
                new Bad("not an object", "[1,2]", 422, "object"),
                new Bad("prompt of the wrong type", "{\"prompt\": 5, \"max_new_tokens\": 4, \"temperature\": 0}", 422, "string"),
                new Bad("max_new_tokens of the wrong type", "{\"prompt\": \"x\", \"max_new_tokens\": \"four\", \"temperature\": 0}", 422, "integer"),
                new Bad("missing prompt", "{\"max_new_tokens\": 4, \"temperature\": 0}", 422, "Field required"),
                new Bad("max_new_tokens zero", body("x", 0, 0, false), 400, "max_new_tokens"),
                new Bad("max_new_tokens negative", body("x", -3, 0, false), 400, "max_new_tokens"),
                new Bad("temperature above 1", body("x", 4, 1.5, false), 422, "temperature"),
                new Bad("temperature below 0", body("x", 4, -0.1, false), 422, "temperature"),
                new Bad("prompt + max_new_tokens over the context", body("Once upon a time", 600, 0, false), 400, "maximum context length is 512"),
                new Bad("top_k with temperature 0", "{\"prompt\": \"x\", \"max_new_tokens\": 4, \"temperature\": 0, \"top_k\": 5}", 400, "temperature is 0"),
                new Bad("two guided modes", "{\"prompt\": \"x\", \"max_new_tokens\": 4, \"temperature\": 0.5, \"guided_regex\": \"a\", \"guided_choice\": [\"a\"]}", 400, "Only one of"),
                new Bad("guided decoding not yet served", "{\"prompt\": \"x\", \"max_new_tokens\": 4, \"temperature\": 0.5, \"guided_choice\": [\"a\"]}", 400, "not supported"));
        return cases.stream().map(bad -> DynamicTest.dynamicTest(bad.name(), () -> {
            HttpTestClient.Response r = sync(TestStack.MODEL, bad.body());
            assertEquals(bad.status(), r.status(), r.body());
            assertTrue(r.json().get("detail").toString().contains(bad.detailContains()), r.body());
            HttpTestClient.Stream s = stream(TestStack.MODEL, bad.body());
            assertEquals(bad.status(), s.status(), "stream route: " + s.raw());
            // The server keeps serving: a good request right after is answered.
            HttpTestClient.Response ok = sync(TestStack.MODEL, body(goldenCases.getFirst().get("prompt").asText(), 32, 0, false));
            assertEquals(goldenCases.getFirst().get("completion_text").asText(), ok.json().get("output").get("text").asText());
        }));
    }

    @Test
    void missingModelEndpointNameIs422() {
        HttpTestClient.Response r = client.post("/v1/llm/completions-sync", body("x", 4, 0, false), AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(422, r.status());
        assertEquals("model_endpoint_name", r.json().get("detail").get(0).get("loc").get(1).asText());
    }

    @Test
    void modelEndpointsAreListedFromTheRegistry() {
        HttpTestClient.Response list = client.get("/v1/llm/model-endpoints", AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, list.status());
        JsonNode endpoints = list.json().get("model_endpoints");
        assertEquals(1, endpoints.size());
        JsonNode e = endpoints.get(0);
        assertEquals(TestStack.MODEL, e.get("name").asText());
        assertEquals("READY", e.get("status").asText());
        assertEquals("hugging_face", e.get("source").asText());
        assertEquals("vllm", e.get("inference_framework").asText());
        assertTrue(e.get("spec").isNull());
        assertEquals(512, e.get("context_length").asInt());
        HttpTestClient.Response one = client.get("/v1/llm/model-endpoints/" + TestStack.MODEL, AUTH, HttpTestClient.basic(TestStack.KEY));
        assertEquals(200, one.status());
        assertEquals(TestStack.MODEL, one.json().get("name").asText());
        assertEquals(404, client.get("/v1/llm/model-endpoints/nope", AUTH, HttpTestClient.basic(TestStack.KEY)).status());
        assertEquals(401, client.get("/v1/llm/model-endpoints").status());
    }

    /** The sum over workers of a series of stories260K's engine in a {@code /metrics} exposition. */
    private static double series(String exposition, String name) {
        return exposition.lines().filter(l -> l.startsWith(name + "{") && l.contains("model_endpoint=\"" + TestStack.MODEL + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private String scrape() {
        HttpTestClient.Response r = client.get("/metrics", AUTH, HttpTestClient.basic(ADMIN_KEY));
        assertEquals(200, r.status(), r.body());
        return r.body();
    }

    /**
     * /metrics reports the worker's engine as its heartbeats announce it: the tokens of two calls with the same
     * long prompt, the second finding the first's full KV blocks in the prefix cache, and nothing running after.
     */
    @Test
    void metricsCountTheEnginesTokensAndPrefixCacheHits() throws Exception {
        var exchange = client.exchange("GET", "/metrics", null, AUTH, HttpTestClient.basic(ADMIN_KEY));
        assertEquals(200, exchange.statusCode(), exchange.body());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", exchange.headers().firstValue("content-type").orElse(""));
        assertEquals(401, client.get("/metrics").status(), "no key");
        assertEquals(403, client.get("/metrics", AUTH, HttpTestClient.basic(TestStack.KEY)).status(), "a tenant's key");
        String before = scrape();
        String prompt = "The lighthouse keeper counted the gulls on the rocks every morning, wrote their number in a small"
                + " blue book, and then walked down to the harbour where the fishing boats came in with the tide.";
        int generated = 0;
        int[] promptTokens = new int[2];
        for (int call = 0; call < 2; call++) {
            HttpTestClient.Response r = sync(TestStack.MODEL, body(prompt, 6, 0.0, false));
            assertEquals(200, r.status(), r.body());
            generated += r.json().get("output").get("num_completion_tokens").asInt();
            promptTokens[call] = r.json().get("output").get("num_prompt_tokens").asInt();
        }
        double blockSize = series(before, "weir_kv_cache_block_size");
        assertTrue(blockSize >= 1 && promptTokens[1] > 2 * blockSize, "the prompt spans full blocks: " + promptTokens[1]);
        double wantGenerated = series(before, "weir_generation_tokens_total") + generated;
        String after = Await.until("the worker's heartbeat to count both calls", java.time.Duration.ofSeconds(30), () -> {
            String now = scrape();
            return series(now, "weir_generation_tokens_total") >= wantGenerated && series(now, "weir_num_requests_running") == 0
                    ? now : null;
        });
        double hits = series(after, "weir_prefix_cache_hits_total") - series(before, "weir_prefix_cache_hits_total");
        double queries = series(after, "weir_prefix_cache_queries_total") - series(before, "weir_prefix_cache_queries_total");
        double computed = series(after, "weir_prompt_tokens_total") - series(before, "weir_prompt_tokens_total");
        assertTrue(hits >= 1 && hits * blockSize < promptTokens[1], "the second call's full blocks were found: " + hits);
        assertTrue(queries >= 2 * hits, "both calls looked their blocks up: " + queries + " queries, " + hits + " hits");
        assertTrue(computed >= promptTokens[0] + promptTokens[1] - hits * blockSize, "prompt tokens computed: " + computed);
        assertTrue(series(after, "weir_engine_steps_total") > series(before, "weir_engine_steps_total"));
        assertEquals(0, series(after, "weir_num_requests_waiting"));
        assertEquals(0, series(after, "weir_kv_cache_usage_ratio"), "no sequence holds blocks once both calls ended");
        assertTrue(series(after, "weir_kv_cache_cached_blocks") >= hits, "the prompt's blocks stay cached");
        assertTrue(after.contains("weir_worker_info{worker=\""), after);
        // this gateway timed both calls as their caller saw them
        assertEquals(2, series(after, "weir_time_to_first_token_seconds_count") - series(before, "weir_time_to_first_token_seconds_count"));
        assertEquals(2, series(after, "weir_e2e_request_latency_seconds_count") - series(before, "weir_e2e_request_latency_seconds_count"));
        assertEquals(2, series(after, "weir_request_success_total") - series(before, "weir_request_success_total"));
        assertEquals(generated - 2, series(after, "weir_inter_token_latency_seconds_count")
                - series(before, "weir_inter_token_latency_seconds_count"), "one interval between each two tokens of a call");
        assertTrue(series(after, "weir_e2e_request_latency_seconds_sum") > series(before, "weir_e2e_request_latency_seconds_sum"));
    }

    @Test
    void healthAndReadiness() {
        assertEquals(200, client.get("/healthz").status());
        HttpTestClient.Response ready = client.get("/readyz");
        assertEquals(200, ready.status(), ready.body());
        assertTrue(ready.json().get("models").toString().contains(TestStack.MODEL));
    }

}

package io.weir.worker.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine loop on the real stories260K checkpoint through the kernel library, without Kafka: golden
 * text, batching that changes no token, stop strings, and error events.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EngineLoopTest {
    private EngineHarness harness;
    private List<JsonNode> golden;

    @BeforeAll
    void load() throws Exception {
        golden = new ArrayList<>();
        Json.MAPPER.readTree(TestModels.require("stories260K").resolve("golden.json").toFile()).get("cases").forEach(golden::add);
        harness = new EngineHarness(4); // fewer slots than requests: some must wait
    }

    @AfterAll
    void close() throws Exception {
        if (harness != null) { // null when the model is absent and the class was skipped
            harness.close();
        }
    }

    private String submit(String id, String prompt, SamplingParams params) throws Exception {
        return harness.submit(id, prompt, params);
    }

    private List<CompletionEvent> await(String id) throws InterruptedException {
        return harness.await(id);
    }

    private static String text(List<CompletionEvent> es) {
        return EngineHarness.text(es);
    }

    @Test
    void everyGoldenPromptRunTogetherGivesTheGoldenTextAndTokens() throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode c : golden) {
            ids.add(submit("golden-" + c.get("id").asText(), c.get("prompt").asText(), SamplingParams.greedy(32)));
        }
        for (int i = 0; i < golden.size(); i++) {
            List<CompletionEvent> es = await(ids.get(i));
            JsonNode c = golden.get(i);
            assertEquals(32, es.size());
            for (int t = 0; t < 32; t++) {
                assertEquals(t, es.get(t).seq());
                assertEquals(c.get("greedy_token_ids").get(t).asInt(), es.get(t).tokenId(), "token " + t + " of " + c.get("id"));
                assertEquals(t == 31, es.get(t).finished());
            }
            assertEquals(c.get("completion_text").asText(), text(es));
            assertEquals("length", es.getLast().finishReason());
            assertEquals(c.get("prompt_token_ids").size(), es.getLast().numPromptTokens());
        }
    }

    @Test
    void goingBusyAndIdleIsReportedAtOnce() throws Exception {
        List<Boolean> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch idleAgain = new java.util.concurrent.CountDownLatch(2);
        harness.engine.onBusyChange(() -> {
            seen.add(harness.engine.load() > 0);
            idleAgain.countDown();
        });
        try {
            await(submit("busy-1", "Once upon a time", SamplingParams.greedy(8)));
            assertTrue(idleAgain.await(30, java.util.concurrent.TimeUnit.SECONDS), "two changes: busy, then idle");
            assertEquals(true, seen.get(0), "the first change: busy, seen when the request was submitted");
            assertEquals(0, harness.engine.load(), "idle once the request ended");
        } finally {
            harness.engine.onBusyChange(() -> { });
        }
    }

    @Test
    void stopStringCutsTheOutputAndEndsTheRequest() throws Exception {
        JsonNode c = golden.getFirst(); // ", there was a little girl named Lily. She loved ..."
        SamplingParams p = new SamplingParams(32, 0, null, null, null, null, List.of("Lily"), null, null, null, null, null);
        List<CompletionEvent> es = await(submit("stop", c.get("prompt").asText(), p));
        String full = c.get("completion_text").asText();
        assertEquals(full.substring(0, full.indexOf("Lily")), text(es));
        assertEquals("stop", es.getLast().finishReason());
        assertTrue(es.size() < 32);
    }

    @Test
    void logProbsAndTopAlternativesMatchTheGolden() throws Exception {
        JsonNode c = golden.get(2);
        SamplingParams p = new SamplingParams(1, 0, null, null, null, null, null, null, true, 5, null, null);
        CompletionEvent e = await(submit("logprobs", c.get("prompt").asText(), p)).getFirst();
        JsonNode top5 = c.get("first_token_top5");
        assertEquals(top5.get(0).get("logprob").asDouble(), e.logProb(), 1e-4);
        for (int i = 0; i < 5; i++) {
            assertEquals(top5.get(i).get("token_id").asInt(), e.topLogprobs().get(i).tokenId());
            assertEquals(top5.get(i).get("logprob").asDouble(), e.topLogprobs().get(i).logProb(), 1e-4);
        }
    }

    @Test
    void seededSamplingIsReproducibleWhateverRunsBeside() throws Exception {
        SamplingParams p = new SamplingParams(24, 0.9, 40, 0.95, null, null, null, null, null, null, 1234L, null);
        String alone = text(await(submit("seeded-alone", "Tom had a big red ball.", p)));
        submit("noise-1", "Lily and Ben", SamplingParams.greedy(24));
        String beside = submit("seeded-beside", "Tom had a big red ball.", p);
        submit("noise-2", "The sun was shining", SamplingParams.greedy(24));
        assertEquals(alone, text(await(beside)));
    }

    @Test
    void contextOverflowIsRejectedBeforeTakingASlot() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(RequestPreparer.RejectedRequestException.class, () ->
                harness.preparer.prepare(new CompletionRequest("long", "m", "Once upon a time", SamplingParams.greedy(600), "t", "x", 0), () -> { }));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("maximum context length is 512"), e.getMessage());
    }
}

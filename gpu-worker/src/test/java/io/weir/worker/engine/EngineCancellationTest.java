package io.weir.worker.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.SamplingParams;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cancellation in the engine loop, on the real stories260K checkpoint with a single sequence slot: a
 * cancelled running request leaves the batch at the next step and its slot goes to the queued request, a
 * waiting one never starts, and a cancel that overtakes its request drops the request on arrival.
 * Cancels are sent from the event sink (the engine thread, in the middle of a step) where the test must pin
 * down the step they land in.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EngineCancellationTest {
    /** Greedy from this prompt runs 342 tokens before stories260K emits BOS, so 300 ends only by length. */
    private static final String LONG_PROMPT = "Once upon a time";
    private static final int LONG_TOKENS = 300;

    private EngineHarness harness;
    private EngineLoop engine;
    private JsonNode golden;

    @BeforeAll
    void load() throws Exception {
        golden = Json.MAPPER.readTree(TestModels.require("stories260K").resolve("golden.json").toFile()).get("cases").get(2);
        harness = new EngineHarness(1); // one slot: a second request must wait
        engine = harness.engine;
    }

    @AfterEach
    void engineIsIdleAgain() {
        harness.onEvent = e -> { };
        awaitTrue(() -> engine.runningCount() == 0 && engine.waitingCount() == 0, "the engine holds no request");
    }

    @AfterAll
    void close() throws Exception {
        if (harness != null) { // null when the model is absent and the class was skipped
            harness.close();
        }
    }

    private void submit(String id, String prompt, int maxNewTokens) throws Exception {
        harness.submit(id, prompt, SamplingParams.greedy(maxNewTokens));
    }

    private List<CompletionEvent> await(String id) throws InterruptedException {
        return harness.await(id);
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    @Test
    void aRunningRequestCancelledMidStepGeneratesNoFurtherTokenAndItsSlotGoesToTheQueuedRequest() throws Exception {
        long cancelledBefore = engine.cancelledCount();
        harness.onEvent = e -> {
            if (e.requestId().equals("long-1") && e.seq() == 4) {
                engine.cancel("long-1"); // lands during the step that sampled token 5
            }
        };
        submit("long-1", LONG_PROMPT, LONG_TOKENS);
        submit("queued-1", golden.get("prompt").asText(), 32);

        List<CompletionEvent> cancelled = await("long-1");
        assertEquals(6, cancelled.size(), "5 tokens, then the cancelled event; no token from any later step");
        CompletionEvent last = cancelled.getLast();
        assertTrue(last.finished());
        assertEquals("cancelled", last.finishReason());
        assertEquals(5, last.seq());
        assertEquals(5, last.numCompletionTokens());
        assertEquals(5, last.numPromptTokens());
        assertTrue(cancelled.subList(0, 5).stream().noneMatch(CompletionEvent::finished));

        List<CompletionEvent> queued = await("queued-1");
        assertEquals(golden.get("completion_text").asText(), EngineHarness.text(queued), "the queued request ran in the freed slot");
        assertTrue(harness.emitted.lastIndexOf("long-1") < harness.emitted.indexOf("queued-1"), "it started only once the slot was freed");
        assertEquals(cancelledBefore + 1, engine.cancelledCount());
    }

    @Test
    void aWaitingRequestCancelledNeverStarts() throws Exception {
        long cancelledBefore = engine.cancelledCount();
        harness.onEvent = e -> {
            if (e.requestId().equals("long-2") && e.seq() == 1) {
                engine.cancel("waiting-2"); // behind long-2, which holds the only slot
            } else if (e.requestId().equals("long-2") && e.seq() == 3) {
                engine.cancel("long-2");
            }
        };
        submit("long-2", LONG_PROMPT, LONG_TOKENS);
        submit("waiting-2", golden.get("prompt").asText(), 32);

        List<CompletionEvent> waiting = await("waiting-2");
        assertEquals(1, waiting.size(), "no token, only the cancelled event");
        assertEquals("cancelled", waiting.getFirst().finishReason());
        assertEquals(0, waiting.getFirst().seq());
        assertEquals(0, waiting.getFirst().numCompletionTokens());
        assertEquals(golden.get("prompt_token_ids").size(), waiting.getFirst().numPromptTokens());

        List<CompletionEvent> running = await("long-2");
        assertEquals(4, running.getLast().numCompletionTokens());
        assertEquals("cancelled", running.getLast().finishReason());
        assertEquals(cancelledBefore + 2, engine.cancelledCount());
    }

    @Test
    void aCancelThatOvertakesItsRequestDropsItOnArrivalAndOthersRunOn() throws Exception {
        long tokensBefore = engine.generatedTokens();
        engine.cancel("early-3");
        engine.cancel("never-comes-3");
        submit("early-3", LONG_PROMPT, LONG_TOKENS);
        submit("after-3", golden.get("prompt").asText(), 32);

        List<CompletionEvent> early = await("early-3");
        assertEquals(1, early.size());
        assertEquals("cancelled", early.getFirst().finishReason());
        assertEquals(0, early.getFirst().numCompletionTokens());
        assertEquals(golden.get("completion_text").asText(), EngineHarness.text(await("after-3")));
        assertEquals(tokensBefore + 32, engine.generatedTokens(), "only the request that was not cancelled generated");
    }

    @Test
    void aCancelForAFinishedRequestChangesNothing() throws Exception {
        submit("finished-4", golden.get("prompt").asText(), 8);
        assertEquals("length", await("finished-4").getLast().finishReason());
        long cancelledBefore = engine.cancelledCount();
        engine.cancel("finished-4");
        submit("next-4", golden.get("prompt").asText(), 32);
        assertEquals(golden.get("completion_text").asText(), EngineHarness.text(await("next-4")));
        assertEquals(cancelledBefore, engine.cancelledCount());
        assertEquals(8, harness.eventsOf("finished-4").size(), "no cancelled event for a request that had ended");
    }
}

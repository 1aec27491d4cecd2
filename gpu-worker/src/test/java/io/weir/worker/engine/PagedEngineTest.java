package io.weir.worker.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.SamplingParams;
import io.weir.infra.testing.TestModels;
import io.weir.worker.kernels.KvDtype;
import io.weir.worker.kvcache.KvCacheStats;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The engine on the paged KV cache, with the real stories260K checkpoint: greedy tokens do not depend on what runs
 * beside a request (batching, chunked prefill, preemption and recomputation under a KV budget that cannot hold
 * every sequence), prefix caching shares blocks, and no block outlives its request.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PagedEngineTest {
    /** stories260K: 5 layers x 32 kv dims x (K and V) x 4 bytes x 16 positions. */
    private static final long BLOCK_BYTES = 5 * 32 * 2 * 4 * 16;
    /** The least budget that holds one full-context (512-position) sequence: 32 blocks. */
    private static final long MIN_BUDGET = 32 * BLOCK_BYTES;

    private Path dir;
    private final List<JsonNode> golden = new ArrayList<>();

    @BeforeAll
    void load() throws Exception {
        dir = TestModels.require("stories260K");
        Json.MAPPER.readTree(dir.resolve("golden.json").toFile()).get("cases").forEach(golden::add);
    }

    private static EngineSettings settings(int maxSeqs, int maxBatchTokens, long kvBytes) {
        return EngineSettings.defaults(maxSeqs).withMaxBatchTokens(maxBatchTokens).withKvCacheBytes(kvBytes);
    }

    @Test
    void greedyTokensAreTheSameAloneAndBatchedThroughPreemption() throws Exception {
        int n = 120;
        List<int[]> alone = new ArrayList<>();
        try (EngineHarness h = new EngineHarness(dir, settings(1, 64, 0))) {
            for (JsonNode c : golden) {
                alone.add(EngineHarness.tokenIds(h.await(h.submit("alone-" + c.get("id").asText(), c.get("prompt").asText(),
                        SamplingParams.greedy(n)))));
            }
        }
        // 8 sequences of ~130 positions need ~72 blocks: a budget of 32 forces preemption; 4 rows per step are fewer
        // than the sequences, so decoding takes turns
        for (EngineSettings crowded : List.of(settings(8, 24, MIN_BUDGET), settings(8, 4, 0))) {
            assertCrowdedRunMatches(crowded, alone, n);
        }
    }

    private void assertCrowdedRunMatches(EngineSettings crowded, List<int[]> alone, int n) throws Exception {
        try (EngineHarness h = new EngineHarness(dir, crowded)) {
            List<String> ids = new ArrayList<>();
            for (JsonNode c : golden) {
                ids.add(h.submit("crowd-" + c.get("id").asText(), c.get("prompt").asText(), SamplingParams.greedy(n)));
            }
            for (int i = 0; i < golden.size(); i++) {
                int[] got = EngineHarness.tokenIds(h.await(ids.get(i)));
                assertArrayEquals(alone.get(i), got, "tokens of " + ids.get(i));
                JsonNode want = golden.get(i).get("greedy_token_ids");
                for (int t = 0; t < want.size(); t++) assertEquals(want.get(t).asInt(), got[t], ids.get(i) + " token " + t);
            }
            EngineStats stats = h.engine.stats();
            if (crowded.kvCacheBytes() > 0) assertTrue(stats.preemptions() > 0, "the budget forced preemptions: " + stats);
            assertEquals(0, stats.kvCache().usedBlocks(), "every block given back: " + stats);
        }
    }

    @Test
    void anInt8KvCacheGivesTheSameTokensAloneAndBatchedThroughPreemption() throws Exception {
        // int8 keeps 8 bytes + 2 scales of 4 per position, layer and kv head (4 heads of 8 dims): 96 bytes, not 256
        long int8Budget = 32L * 16 * 5 * 2 * 4 * (8 + 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EngineHarness(dir, settings(4, 64, int8Budget - 1).withKvDtype(KvDtype.INT8)));
        assertTrue(e.getMessage().contains("one sequence of 512 positions needs 32"), e.getMessage());
        int n = 120, firstSame = 0;
        List<int[]> alone = new ArrayList<>();
        try (EngineHarness h = new EngineHarness(dir, settings(1, 64, 0).withKvDtype(KvDtype.INT8))) {
            assertEquals(KvDtype.INT8, h.model.runner().kvDtype());
            for (JsonNode c : golden) {
                int[] got = EngineHarness.tokenIds(h.await(h.submit("alone-" + c.get("id").asText(), c.get("prompt").asText(),
                        SamplingParams.greedy(n))));
                if (got[0] == c.get("greedy_token_ids").get(0).asInt()) firstSame++;
                alone.add(got);
            }
        }
        assertTrue(firstSame >= golden.size() * 3 / 4, "first tokens as f32's: " + firstSame + " of " + golden.size());
        try (EngineHarness h = new EngineHarness(dir, settings(8, 24, int8Budget).withKvDtype(KvDtype.INT8))) {
            List<String> ids = new ArrayList<>();
            for (JsonNode c : golden) {
                ids.add(h.submit("crowd-" + c.get("id").asText(), c.get("prompt").asText(), SamplingParams.greedy(n)));
            }
            for (int i = 0; i < golden.size(); i++) assertArrayEquals(alone.get(i), EngineHarness.tokenIds(h.await(ids.get(i))));
            EngineStats stats = h.engine.stats();
            assertTrue(stats.preemptions() > 0, "the budget forced preemptions: " + stats);
            assertEquals(0, stats.kvCache().usedBlocks(), "every block given back: " + stats);
        }
    }

    @Test
    void aSharedPromptPrefixIsServedFromCachedBlocks() throws Exception {
        String prompt = String.join(" ", golden.stream().map(c -> c.get("prompt").asText()).toList());
        try (EngineHarness h = new EngineHarness(dir, settings(4, 64, 0))) {
            int[] first = EngineHarness.tokenIds(h.await(h.submit("first", prompt, SamplingParams.greedy(16))));
            KvCacheStats before = h.engine.stats().kvCache();
            int[] second = EngineHarness.tokenIds(h.await(h.submit("second", prompt, SamplingParams.greedy(16))));
            KvCacheStats after = h.engine.stats().kvCache();
            int promptTokens = h.model.tokenizer().encode(prompt, true).length;
            assertTrue(promptTokens > 32, "the prompt spans several blocks: " + promptTokens);
            assertEquals((promptTokens - 1) / 16, after.prefixHits() - before.prefixHits(), "every full prompt block is a hit");
            assertArrayEquals(first, second);
        }
    }

    @Test
    void noKvBlockOutlivesItsRequestAfterAThousandRandomRequests() throws Exception {
        EngineStats stats = runRandomRequests(null);
        assertTrue(stats.preemptions() > 0 && stats.kvCache().prefixHits() > 0, "preemption and prefix hits happened: " + stats);
    }

    @Test
    void noKvBlockOutlivesItsRequestAfterAThousandRandomRequestsWithRandomCancellations() throws Exception {
        runRandomRequests(new SplittableRandom(7));
    }

    /**
     * 1000 random requests (some invalid, some with stop strings, some sampled) on a KV budget of a few sequences;
     * with {@code cancels}, some are cancelled at random: before they arrive, or at any point after.
     * Every accepted request must end with a finished event, and afterwards no block may be held.
     */
    private EngineStats runRandomRequests(SplittableRandom cancels) throws Exception {
        SplittableRandom r = new SplittableRandom(20240611);
        String[] words = {"Once", "upon", "a", "time", "Lily", "played", "with", "her", "dog", "in", "the", "park", ".", "Tom",
                "was", "happy", "and", "said", "hello", "to", "mom", "!"};
        String[] stops = {"the", "Lily", ".", "a", "and", "zzz"};
        try (EngineHarness h = new EngineHarness(dir, settings(8, 32, MIN_BUDGET + 8 * BLOCK_BYTES))) {
            List<String> accepted = new ArrayList<>();
            int rejected = 0;
            for (int i = 0; i < 1000; i++) {
                StringBuilder prompt = new StringBuilder();
                int nWords = 1 + r.nextInt(r.nextInt(8) == 0 ? 120 : 25);
                for (int w = 0; w < nWords; w++) prompt.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
                int maxNew = switch (r.nextInt(20)) {
                    case 0 -> 0;     // invalid: rejected before it takes anything
                    case 1 -> 600;   // over the context: rejected
                    default -> 1 + r.nextInt(40);
                };
                List<String> stop = r.nextInt(3) == 0 ? List.of(stops[r.nextInt(stops.length)]) : null;
                double temperature = r.nextInt(4) == 0 ? 0.8 : 0.0;
                SamplingParams p = new SamplingParams(maxNew, temperature, null, null, null, null, stop, null, null, null,
                        r.nextLong(), null);
                if (cancels != null && cancels.nextInt(40) == 0) {
                    h.engine.cancel("r" + i); // a cancel that overtakes its request: dropped on arrival
                }
                try {
                    accepted.add(h.submit("r" + i, prompt.toString(), p));
                } catch (RequestPreparer.RejectedRequestException e) {
                    rejected++;
                }
                if (cancels != null && !accepted.isEmpty() && cancels.nextInt(6) == 0) {
                    // an earlier request, whatever it is doing now: waiting, prefilling, decoding or finished
                    h.engine.cancel(accepted.get(cancels.nextInt(accepted.size())));
                }
            }
            for (String id : accepted) {
                List<CompletionEvent> es = h.await(id);
                assertTrue(!es.isEmpty() && es.getLast().finished(), id + " ended with a finished event");
            }
            assertTrue(rejected > 0 && accepted.size() > 900, rejected + " rejected");
            if (cancels != null) {
                assertTrue(h.engine.cancelledCount() > 0, "some requests were cancelled before they ended");
            }
            EngineStats stats = h.engine.stats();
            assertEquals(0, stats.kvCache().usedBlocks(), "no block leaked: " + stats);
            assertEquals(stats.kvCache().totalBlocks(), stats.kvCache().freeBlocks());
            assertEquals(0, stats.running());
            return stats;
        }
    }

    @Test
    void aBudgetThatCannotHoldOneSequenceIsRefusedAtLoad() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EngineHarness(dir, settings(4, 64, MIN_BUDGET - 1)));
        assertTrue(e.getMessage().contains("one sequence of 512 positions needs 32"), e.getMessage());
    }
}

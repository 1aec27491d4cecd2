package io.weir.worker.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.SamplingParams;
import io.weir.infra.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Path;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the worker makes of a request before it runs: special tokens, the token budget, limits. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RequestPreparerTest {
    private LoadedModel model;
    private RequestPreparer preparer;
    private JsonNode golden;

    @BeforeAll
    void load() throws Exception {
        Path dir = TestModels.require("stories260K");
        golden = Json.MAPPER.readTree(dir.resolve("golden.json").toFile()).get("cases").get(0);
        model = LoadedModel.load("stories260K", dir, 1);
        preparer = new RequestPreparer(model);
    }

    @AfterAll
    void close() throws Exception {
        if (model != null) { // null when the model is absent and the class was skipped
            model.close();
        }
    }

    private PreparedRequest prepare(String prompt, SamplingParams sampling, Boolean addSpecialTokens) throws Exception {
        return preparer.prepare(new CompletionRequest("r", "stories260K", prompt, sampling, "t", "x", 0, addSpecialTokens), () -> { });
    }

    private int[] goldenPromptIds() {
        return StreamSupport.stream(golden.get("prompt_token_ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }

    @Test
    void specialTokensAreAddedUnlessTheRequestSaysThePromptHasThem() throws Exception {
        String prompt = golden.get("prompt").asText();
        assertArrayEquals(goldenPromptIds(), prepare(prompt, SamplingParams.greedy(4), null).promptIds(), "BOS added by default");
        assertArrayEquals(goldenPromptIds(), prepare("<s>" + prompt, SamplingParams.greedy(4), false).promptIds(),
                "a prompt that already starts with the BOS text, sent with add_special_tokens false, tokenizes the same");
        int[] doubled = prepare("<s>" + prompt, SamplingParams.greedy(4), true).promptIds();
        assertEquals(goldenPromptIds().length + 1, doubled.length, "BOS twice when both add it");
    }

    @Test
    void fitToContextLowersTheBudgetToWhatTheContextLeaves() throws Exception {
        SamplingParams upToContext = new SamplingParams(100_000, 0, null, null, null, null, null, null, null, null, null, null, true);
        PreparedRequest p = prepare(golden.get("prompt").asText(), upToContext, null);
        assertEquals(512 - goldenPromptIds().length, p.request().sampling().maxNewTokens());
        PreparedRequest small = prepare(golden.get("prompt").asText(), upToContext.withMaxNewTokens(7), null);
        assertEquals(7, small.request().sampling().maxNewTokens(), "a budget that fits is kept");
        var e = assertThrows(RequestPreparer.RejectedRequestException.class,
                () -> prepare(golden.get("prompt").asText(), SamplingParams.greedy(600), null));
        assertTrue(e.getMessage().contains("maximum context length is 512"), "without it an over-long budget is refused");
    }

    @Test
    void moreTopLogprobsThanTheLimitAreRefused() throws Exception {
        SamplingParams many = new SamplingParams(4, 0, null, null, null, null, null, null, true, RequestPreparer.MAX_TOP_LOGPROBS + 1, null, null);
        var e = assertThrows(RequestPreparer.RejectedRequestException.class, () -> prepare("Once", many, null));
        assertEquals(400, e.status());
        SamplingParams twenty = new SamplingParams(4, 0, null, null, null, null, null, null, true, RequestPreparer.MAX_TOP_LOGPROBS, null, null);
        assertEquals(RequestPreparer.MAX_TOP_LOGPROBS, prepare("Once", twenty, null).request().sampling().topLogprobs());
    }
}

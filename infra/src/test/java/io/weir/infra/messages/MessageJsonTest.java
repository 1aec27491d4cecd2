package io.weir.infra.messages;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.infra.json.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Messages cross process boundaries as JSON: they must round-trip, in the documented snake_case shape. */
class MessageJsonTest {

    @Test
    void requestRoundTripsInTheDocumentedShape() throws Exception {
        SamplingParams sampling = new SamplingParams(32, 0.7, 40, 0.9, 0.1, 0.2, List.of("\n"), true, true, 5, 42L, false);
        CompletionRequest request = new CompletionRequest("r-1", "m", "Once", sampling, "weir.replies.x", "t", 123L);
        String json = Json.toString(request);
        assertEquals(request, Json.fromString(json, CompletionRequest.class));
        JsonNode tree = Json.MAPPER.readTree(json);
        assertEquals(32, tree.get("sampling").get("max_new_tokens").asInt());
        assertEquals("weir.replies.x", tree.get("reply_topic").asText());
        assertFalse(tree.get("sampling").has("greedy"), "helper methods are not serialized");
    }

    @Test
    void promptAndBudgetOptionsRoundTripAndDefaultWhenAbsent() throws Exception {
        SamplingParams sampling = new SamplingParams(512, 1.0, null, null, null, null, null, null, null, null, 7L, null, true);
        CompletionRequest chat = new CompletionRequest("r-2", "m", "<s>[INST] hi [/INST]", sampling, "weir.replies.x", "t", 1L, false);
        String json = Json.toString(chat);
        assertEquals(chat, Json.fromString(json, CompletionRequest.class));
        JsonNode tree = Json.MAPPER.readTree(json);
        assertFalse(tree.get("add_special_tokens").asBoolean());
        assertTrue(tree.get("sampling").get("fit_to_context").asBoolean());
        assertFalse(chat.effectiveAddSpecialTokens());
        assertTrue(chat.sampling().effectiveFitToContext());

        CompletionRequest plain = new CompletionRequest("r-3", "m", "Once", SamplingParams.greedy(4), "weir.replies.x", "t", 1L);
        JsonNode plainTree = Json.MAPPER.readTree(Json.toString(plain));
        assertFalse(plainTree.has("add_special_tokens"), "unset options are omitted");
        assertFalse(plainTree.get("sampling").has("fit_to_context"));
        assertTrue(plain.effectiveAddSpecialTokens());
        assertFalse(plain.sampling().effectiveFitToContext());
        assertEquals(9, chat.withSampling(sampling.withMaxNewTokens(9)).sampling().maxNewTokens());
    }

    @Test
    void externalProducersMayOmitOptionalFields() {
        String json = """
                {"request_id":"r","model":"m","prompt":"p","sampling":{"max_new_tokens":4,"temperature":0},
                 "reply_topic":"weir.replies.me","created_at_ms":1,"some_future_field":true}""";
        CompletionRequest r = Json.fromString(json, CompletionRequest.class);
        assertTrue(r.sampling().isGreedy());
        assertEquals(-1, r.sampling().effectiveTopK());
        assertTrue(r.sampling().effectiveSkipSpecialTokens());
    }

    @Test
    void eventsRoundTripBothKinds() throws Exception {
        CompletionEvent token = new CompletionEvent("r", 3, CompletionEvent.Kind.TOKEN, " there", 383, "▁there", -0.5,
                List.of(new CompletionEvent.TopLogprob(383, "▁there", -0.5)), 5, 4, true, "length", null);
        assertEquals(token, Json.fromString(Json.toString(token), CompletionEvent.class));
        CompletionEvent error = CompletionEvent.error("r", 0, 400, "too long");
        String json = Json.toString(error);
        assertEquals(error, Json.fromString(json, CompletionEvent.class));
        assertEquals(400, Json.MAPPER.readTree(json).get("error").get("status").asInt());
    }

    @Test
    void cancelsAndCancelledEventsRoundTripInTheDocumentedShape() throws Exception {
        CancelRequest cancel = new CancelRequest("r-9", CancelRequest.CLIENT_GONE);
        String json = Json.toString(cancel);
        assertEquals(cancel, Json.fromString(json, CancelRequest.class));
        assertEquals("r-9", Json.MAPPER.readTree(json).get("request_id").asText());
        assertEquals("client_disconnected", Json.MAPPER.readTree(json).get("reason").asText());

        CompletionEvent cancelled = CompletionEvent.cancelled("r-9", 7, 5, 7);
        JsonNode tree = Json.MAPPER.readTree(Json.toString(cancelled));
        assertEquals(cancelled, Json.fromString(Json.toString(cancelled), CompletionEvent.class));
        assertTrue(tree.get("finished").asBoolean());
        assertEquals("cancelled", tree.get("finish_reason").asText());
        assertEquals(7, tree.get("num_completion_tokens").asInt());
        assertFalse(cancelled.isError());
    }
}

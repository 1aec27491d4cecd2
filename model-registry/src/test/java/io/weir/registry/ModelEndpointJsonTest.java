package io.weir.registry;

import io.weir.infra.json.Json;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Endpoints are stored as JSON in Hazelcast: the chat fields must survive, and older records still read. */
class ModelEndpointJsonTest {
    private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

    @Test
    void chatTemplateFieldsRoundTripAndSurviveOtherChanges() throws Exception {
        ChatTemplate published = new ChatTemplate("{{ messages[0]['content'] }}", "<s>", "</s>");
        ModelEndpoint loaded = ModelEndpoint.local("m", "/models/m", "admin", NOW, 1).withChatTemplate(published)
                .withChatTemplateOverride("custom");
        String json = Json.toString(loaded);
        assertEquals(loaded, Json.fromString(json, ModelEndpoint.class));
        assertEquals("<s>", Json.MAPPER.readTree(json).get("chat_template").get("bos_token").asText());
        assertEquals("custom", Json.MAPPER.readTree(json).get("chat_template_override").asText());
        ModelEndpoint ready = loaded.withStatus(EndpointStatus.READY, null, 512, NOW).withLabels(java.util.Map.of("a", "b"));
        assertEquals(published, ready.chatTemplate(), "status and label changes keep the chat fields");
        assertEquals("custom", ready.chatTemplateOverride());
    }

    @Test
    void recordsWrittenBeforeTheChatFieldsStillRead() {
        String old = """
                {"name":"m","model_name":"m","source":"hugging_face","checkpoint_path":"/m","status":"READY",
                 "inference_framework":"vllm","num_shards":1,"min_workers":1,"max_workers":1,"per_worker":2,
                 "labels":{},"owner_tenant":"admin","public_inference":true,"context_length":512,
                 "created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}""";
        ModelEndpoint e = Json.fromString(old, ModelEndpoint.class);
        assertEquals(512, e.contextLength());
        assertNull(e.chatTemplate());
        assertNull(e.chatTemplateOverride());
    }
}

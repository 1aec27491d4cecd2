package io.weir.gateway.routes.openai;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.buffer.Buffer;
import io.weir.gateway.chat.ChatTemplates;
import io.weir.gateway.http.JsonFields;
import io.weir.infra.json.Json;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A POST /v2/chat/completions body (OpenAI's CreateChatCompletionRequest with vLLM's chat extras).
 *
 * @param chat    what the chat template renders: messages (content flattened to text), add_generation_prompt,
 *                continue_final_message, chat_template_kwargs
 * @param options the generation fields; {@code maxTokens} is max_completion_tokens or max_tokens (null: up
 *                to the context), {@code topLogprobs} is set when {@code logprobs} is true
 */
record ChatRequest(String model, ChatTemplates.ChatInput chat, SamplingOptions options) {
    static final int MAX_TOP_LOGPROBS = 20;

    static ChatRequest parse(Buffer body) {
        JsonFields f = JsonFields.parse(body);
        String model = f.requiredString("model");
        List<Map<String, Object>> messages = messages(f.node("messages"));
        boolean logprobs = Boolean.TRUE.equals(f.optionalBoolean("logprobs"));
        Integer topLogprobs = f.optionalInt("top_logprobs");
        if (topLogprobs != null && (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS)) {
            throw OpenAiError.invalid("top_logprobs", "top_logprobs must be between 0 and " + MAX_TOP_LOGPROBS + ", got " + topLogprobs).exception();
        }
        if (topLogprobs != null && topLogprobs > 0 && !logprobs) {
            throw OpenAiError.invalid("top_logprobs", "top_logprobs needs logprobs set to true").exception();
        }
        Integer maxTokens = f.has("max_completion_tokens") ? f.optionalInt("max_completion_tokens") : f.optionalInt("max_tokens");
        boolean addGenerationPrompt = !Boolean.FALSE.equals(f.optionalBoolean("add_generation_prompt"));
        boolean continueFinal = Boolean.TRUE.equals(f.optionalBoolean("continue_final_message"));
        if (continueFinal && addGenerationPrompt) {
            throw OpenAiError.invalid("continue_final_message",
                    "continue_final_message and add_generation_prompt cannot both be true (set add_generation_prompt to false)").exception();
        }
        refuseUnsupported(f);
        Map<String, Object> kwargs = new HashMap<>(object(f, "chat_template_kwargs"));
        JsonNode documents = f.node("documents");
        if (documents != null) {
            kwargs.put("documents", Json.MAPPER.convertValue(documents, Object.class));
        }
        SamplingOptions options = SamplingOptions.read(f, maxTokens, logprobs ? (topLogprobs == null ? 0 : topLogprobs) : null);
        return new ChatRequest(model, new ChatTemplates.ChatInput(messages, addGenerationPrompt, continueFinal, kwargs), options);
    }

    private static void refuseUnsupported(JsonFields f) {
        if (f.has("chat_template")) {
            // As vLLM by default: a request may not bring its own template (it is code the server runs).
            throw OpenAiError.notSupported("chat_template", "A chat_template in the request (set chat_template_override on the endpoint)").exception();
        }
        JsonNode tools = f.node("tools");
        if (tools != null && !tools.isEmpty()) {
            throw OpenAiError.notSupported("tools", "Tool calling").exception();
        }
        if (f.has("functions")) {
            throw OpenAiError.notSupported("functions", "Function calling").exception();
        }
        if (Boolean.TRUE.equals(f.optionalBoolean("echo"))) {
            throw OpenAiError.notSupported("echo", "echo").exception();
        }
        if (f.has("audio")) {
            throw OpenAiError.notSupported("audio", "Audio output").exception();
        }
    }

    /**
     * The messages as the template sees them: every field kept (name, tool_calls...), content as text. A list
     * of content parts becomes its text parts joined by newlines, as vLLM does for string-content templates.
     */
    private static List<Map<String, Object>> messages(JsonNode node) {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw OpenAiError.invalid("messages", "messages must be a non-empty list").exception();
        }
        List<Map<String, Object>> messages = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode m = node.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject() || !m.path("role").isTextual()) {
                throw OpenAiError.invalid(where, where + " must be an object with a string role").exception();
            }
            Map<String, Object> message = Json.MAPPER.convertValue(m, new TypeReference<LinkedHashMap<String, Object>>() { });
            message.put("content", text(m.get("content"), where));
            messages.add(message);
        }
        return messages;
    }

    private static String text(JsonNode content, String where) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            throw OpenAiError.invalid(where + ".content", where + ".content must be a string or a list of content parts").exception();
        }
        List<String> parts = new ArrayList<>();
        for (JsonNode part : content) {
            String type = part.path("type").asText("");
            if (!type.equals("text") || !part.path("text").isTextual()) {
                throw (type.equals("text") ? OpenAiError.invalid(where + ".content", "a text part needs a string text")
                        : OpenAiError.notSupported(where + ".content", "Content of type '" + type + "' (only text parts are)")).exception();
            }
            parts.add(part.get("text").textValue());
        }
        return String.join("\n", parts);
    }

    private static Map<String, Object> object(JsonFields f, String field) {
        JsonNode v = f.node(field);
        if (v == null) {
            return Map.of();
        }
        if (!v.isObject()) {
            throw OpenAiError.invalid(field, field + " must be an object").exception();
        }
        return Json.MAPPER.convertValue(v, new TypeReference<LinkedHashMap<String, Object>>() { });
    }
}

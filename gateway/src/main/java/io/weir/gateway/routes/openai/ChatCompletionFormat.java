package io.weir.gateway.routes.openai;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.infra.messages.CompletionEvent;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI's {@code chat.completion} and {@code chat.completion.chunk} objects: the assistant's message (a
 * stream's first chunk of each choice carries the role), log-probabilities as {@code content} entries with
 * token, logprob, UTF-8 bytes and the asked-for top alternatives.
 */
final class ChatCompletionFormat extends ResponseFormat {
    static final String OBJECT = "chat.completion";
    static final String CHUNK_OBJECT = "chat.completion.chunk";

    ChatCompletionFormat(boolean logprobs) {
        super("chatcmpl-", OBJECT, CHUNK_OBJECT, logprobs);
    }

    @Override
    JsonObject choice(ChoiceOutput c) {
        JsonObject message = new JsonObject().put("role", "assistant").put("content", c.text()).putNull("refusal");
        return new JsonObject().put("index", c.index).put("message", message).put("finish_reason", c.finishReason())
                .put("logprobs", logprobsJson(c.logprobs(logprobs)));
    }

    @Override
    JsonObject chunk(Header header, ChoiceOutput choice, CompletionEvent event, ChoiceOutput.TokenLogprob logprob) {
        if (ResponseFormat.silent(event, logprob)) {
            return null;
        }
        JsonObject delta = new JsonObject();
        if (choice.announce()) {
            delta.put("role", "assistant");
        }
        delta.put("content", event.text() == null ? "" : event.text());
        JsonObject c = new JsonObject().put("index", choice.index).put("delta", delta)
                .put("finish_reason", event.finished() ? event.finishReason() : null)
                .put("logprobs", logprob == null ? null : logprobsJson(List.of(logprob)));
        return chunkOf(header, c);
    }

    private static JsonObject logprobsJson(List<ChoiceOutput.TokenLogprob> tokens) {
        if (tokens == null) {
            return null;
        }
        JsonArray content = new JsonArray();
        for (ChoiceOutput.TokenLogprob t : tokens) {
            JsonArray top = new JsonArray();
            t.top().forEach(alt -> top.add(entry(alt.token(), alt.logProb())));
            content.add(entry(t.token(), t.logprob()).put("top_logprobs", top));
        }
        return new JsonObject().put("content", content).putNull("refusal");
    }

    private static JsonObject entry(String token, double logprob) {
        JsonArray bytes = new JsonArray();
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return new JsonObject().put("token", token).put("logprob", logprob).put("bytes", bytes);
    }
}

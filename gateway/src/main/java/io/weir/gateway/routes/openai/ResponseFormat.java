package io.weir.gateway.routes.openai;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.infra.messages.CompletionEvent;

import java.util.List;
import java.util.UUID;

/** How one OpenAI API (completions or chat) spells its responses and stream chunks. */
abstract sealed class ResponseFormat permits TextCompletionFormat, ChatCompletionFormat {
    private final String idPrefix;
    private final String object;
    private final String chunkObject;
    /** Whether the caller asked for log-probabilities. */
    final boolean logprobs;

    ResponseFormat(String idPrefix, String object, String chunkObject, boolean logprobs) {
        this.idPrefix = idPrefix;
        this.object = object;
        this.chunkObject = chunkObject;
        this.logprobs = logprobs;
    }

    /** What every response and chunk of one request repeats. */
    record Header(String id, long created, String model) {
        static Header create(String idPrefix, String model) {
            return new Header(idPrefix + UUID.randomUUID().toString().replace("-", ""), System.currentTimeMillis() / 1000, model);
        }
    }

    /** Token counts: prompts once each (not once per sample), every choice's completion tokens. */
    record Usage(int promptTokens, int completionTokens) {
        static Usage of(List<ChoiceOutput> choices, int samplesPerPrompt) {
            int prompt = 0;
            int completion = 0;
            for (ChoiceOutput c : choices) {
                prompt += c.index % samplesPerPrompt == 0 ? c.promptTokens() : 0;
                completion += c.completionTokens();
            }
            return new Usage(prompt, completion);
        }

        JsonObject json() {
            return new JsonObject().put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                    .put("total_tokens", promptTokens + completionTokens);
        }
    }

    /** Response ids are this prefix and a random part. */
    final String idPrefix() {
        return idPrefix;
    }

    /** The object of a whole (sync) response. */
    final JsonObject response(Header header, List<ChoiceOutput> choices, Usage usage) {
        JsonArray out = new JsonArray();
        choices.forEach(c -> out.add(choice(c)));
        return envelope(header, object, out).put("usage", usage.json());
    }

    /** A finished choice in a whole response. */
    abstract JsonObject choice(ChoiceOutput choice);

    /**
     * The stream chunk for an event just appended to {@code choice}, or null when there is nothing to send
     * (an empty piece, such as the first byte of a multi-byte character, with no log-probability).
     */
    abstract JsonObject chunk(Header header, ChoiceOutput choice, CompletionEvent event, ChoiceOutput.TokenLogprob logprob);

    /** The final chunk of a stream with stream_options.include_usage: no choices, the usage. */
    final JsonObject usageChunk(Header header, Usage usage) {
        return envelope(header, chunkObject, new JsonArray()).put("usage", usage.json());
    }

    /** A stream chunk holding one choice's piece. */
    final JsonObject chunkOf(Header header, JsonObject choice) {
        return envelope(header, chunkObject, new JsonArray().add(choice));
    }

    private static JsonObject envelope(Header header, String object, JsonArray choices) {
        return new JsonObject().put("id", header.id()).put("object", object).put("created", header.created())
                .put("model", header.model()).put("choices", choices);
    }

    /** Nothing to send for this event in a stream. */
    static boolean silent(CompletionEvent event, ChoiceOutput.TokenLogprob logprob) {
        return !event.finished() && logprob == null && (event.text() == null || event.text().isEmpty());
    }
}

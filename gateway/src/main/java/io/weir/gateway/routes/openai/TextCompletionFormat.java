package io.weir.gateway.routes.openai;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.infra.messages.CompletionEvent;

import java.util.List;

/**
 * OpenAI's {@code text_completion} objects. Log-probabilities take the legacy shape: {@code tokens},
 * {@code token_logprobs}, {@code top_logprobs} (per token, the asked-for alternatives plus the sampled token,
 * as vLLM reports them) and {@code text_offset}.
 */
final class TextCompletionFormat extends ResponseFormat {
    static final String OBJECT = "text_completion";

    TextCompletionFormat(boolean logprobs) {
        super("cmpl-", OBJECT, OBJECT, logprobs);
    }

    @Override
    JsonObject choice(ChoiceOutput c) {
        return choice(c.index, c.text(), c.finishReason(), logprobsJson(c.logprobs(logprobs)));
    }

    @Override
    JsonObject chunk(Header header, ChoiceOutput choice, CompletionEvent event, ChoiceOutput.TokenLogprob logprob) {
        if (ResponseFormat.silent(event, logprob)) {
            return null;
        }
        JsonObject c = choice(choice.index, event.text() == null ? "" : event.text(), event.finished() ? event.finishReason() : null,
                logprob == null ? null : logprobsJson(List.of(logprob)));
        return chunkOf(header, c);
    }

    private static JsonObject choice(int index, String text, String finishReason, JsonObject logprobs) {
        return new JsonObject().put("index", index).put("text", text).put("finish_reason", finishReason).put("logprobs", logprobs);
    }

    private static JsonObject logprobsJson(List<ChoiceOutput.TokenLogprob> tokens) {
        if (tokens == null) {
            return null;
        }
        JsonArray names = new JsonArray();
        JsonArray values = new JsonArray();
        JsonArray tops = new JsonArray();
        JsonArray offsets = new JsonArray();
        for (ChoiceOutput.TokenLogprob t : tokens) {
            names.add(t.token());
            values.add(t.logprob());
            JsonObject top = new JsonObject();
            t.top().forEach(alt -> top.put(alt.token(), alt.logProb()));
            if (!top.containsKey(t.token())) {
                top.put(t.token(), t.logprob());
            }
            tops.add(top);
            offsets.add(t.textOffset());
        }
        return new JsonObject().put("tokens", names).put("token_logprobs", values).put("top_logprobs", tops).put("text_offset", offsets);
    }
}

package io.weir.gateway.routes.batch;

import io.vertx.core.buffer.Buffer;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.JsonFields;
import io.weir.gateway.routes.llmengine.CompletionV1Parser;
import io.weir.infra.messages.SamplingParams;

import java.time.Duration;
import java.util.List;

/**
 * The bodies of the batch routes: LLM Engine v1 completion fields ({@code max_new_tokens}, {@code temperature},
 * {@code stop_sequences}, {@code timeout}... with the same rules, see {@link CompletionV1Parser}), plus
 * either {@code model} and a list of {@code prompts}, or a list of {@code models} and one {@code prompt}.
 */
final class BatchRequestParser {
    /** Prompts in one many-prompts call: all are queued at once, so the list is bounded. */
    static final int MAX_PROMPTS = 1000;
    static final int MAX_MODELS = 16;

    /** Many prompts to one model. */
    record ManyPrompts(String model, List<String> prompts, SamplingParams sampling, Duration timeout) {
    }

    /** One prompt to many models. */
    record ManyModels(List<String> models, String prompt, SamplingParams sampling, Duration timeout) {
    }

    private BatchRequestParser() {
    }

    static ManyPrompts manyPrompts(Buffer body) {
        JsonFields f = JsonFields.parse(body);
        String model = f.requiredString("model");
        List<String> prompts = bounded(f, "prompts", MAX_PROMPTS);
        return new ManyPrompts(model, prompts, CompletionV1Parser.sampling(f), CompletionV1Parser.timeout(f));
    }

    static ManyModels manyModels(Buffer body) {
        JsonFields f = JsonFields.parse(body);
        List<String> models = bounded(f, "models", MAX_MODELS);
        String prompt = f.requiredString("prompt");
        return new ManyModels(models, prompt, CompletionV1Parser.sampling(f), CompletionV1Parser.timeout(f));
    }

    private static List<String> bounded(JsonFields f, String field, int max) {
        List<String> items = f.requiredStringList(field);
        if (items.isEmpty()) {
            throw ApiException.invalid("too_short", field, "List should have at least 1 item after validation, not 0");
        }
        if (items.size() > max) {
            throw ApiException.invalid("too_long", field, "List should have at most " + max + " items after validation, not " + items.size());
        }
        return items;
    }
}

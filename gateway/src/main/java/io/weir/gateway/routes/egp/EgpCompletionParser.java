package io.weir.gateway.routes.egp;

import io.vertx.core.buffer.Buffer;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.JsonFields;
import io.weir.infra.messages.SamplingParams;

import java.util.List;

/**
 * Scale EGP's completion body (§13 of the API contract): {@code {model, prompt, model_parameters, stream}}.
 * {@code model_parameters} holds {@code temperature} (0..1, default 0.2), {@code max_tokens} (default 100,
 * EGP's default for LLM Engine models), {@code stop_sequences} (at most 4, never part of the output),
 * {@code topK}, {@code topP} (the SDK's wire names; {@code top_k}, {@code top_p} also accepted),
 * {@code frequency_penalty} and {@code presence_penalty} (-2..2, OpenAI's range). Schema violations are
 * 422 with their location, rule violations 400; unknown fields are ignored.
 */
final class EgpCompletionParser {
    static final double DEFAULT_TEMPERATURE = 0.2;
    static final int DEFAULT_MAX_TOKENS = 100;
    static final int MAX_STOP_SEQUENCES = 4;

    record EgpCompletion(String model, String prompt, SamplingParams sampling, boolean stream) {
    }

    private EgpCompletionParser() {
    }

    static EgpCompletion parse(Buffer body) {
        JsonFields f = JsonFields.parse(body);
        String model = f.requiredString("model");
        String prompt = f.requiredString("prompt");
        boolean stream = Boolean.TRUE.equals(f.optionalBoolean("stream"));
        SamplingParams sampling;
        try {
            sampling = sampling(f.object("model_parameters"));
        } catch (ApiException e) {
            throw e.under("model_parameters");
        }
        if (f.has("images")) {
            throw ApiException.badRequest("images are not supported: the models served here are text-only.");
        }
        return new EgpCompletion(model, prompt, sampling, stream);
    }

    private static SamplingParams sampling(JsonFields p) {
        Double temperature = p.optionalDouble("temperature");
        JsonFields.checkRange("temperature", temperature, 0, true, 1);
        Integer maxTokens = p.optionalInt("max_tokens");
        List<String> stops = p.optionalStringList("stop_sequences");
        if (stops != null && stops.size() > MAX_STOP_SEQUENCES) {
            throw ApiException.invalid("too_long", "stop_sequences",
                    "List should have at most " + MAX_STOP_SEQUENCES + " items after validation, not " + stops.size());
        }
        Integer topK = p.has("topK") ? p.optionalInt("topK") : p.optionalInt("top_k");
        if (topK != null && topK < 1) {
            throw ApiException.invalid("greater_than_equal", "topK", "Input should be greater than or equal to 1");
        }
        Double topP = p.has("topP") ? p.optionalDouble("topP") : p.optionalDouble("top_p");
        JsonFields.checkRange("topP", topP, 0, false, 1);
        Double frequency = p.optionalDouble("frequency_penalty");
        JsonFields.checkRange("frequency_penalty", frequency, -2, true, 2);
        Double presence = p.optionalDouble("presence_penalty");
        JsonFields.checkRange("presence_penalty", presence, -2, true, 2);
        if (maxTokens != null && maxTokens < 1) {
            throw ApiException.badRequest("max_tokens must be at least 1, got " + maxTokens);
        }
        return new SamplingParams(maxTokens == null ? DEFAULT_MAX_TOKENS : maxTokens,
                temperature == null ? DEFAULT_TEMPERATURE : temperature, topK, topP, presence, frequency, stops,
                false, null, null, null, null);
    }
}

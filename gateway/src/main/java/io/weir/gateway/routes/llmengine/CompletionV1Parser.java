package io.weir.gateway.routes.llmengine;

import io.vertx.core.buffer.Buffer;
import io.weir.gateway.completions.CompletionCalls;
import io.weir.gateway.http.ApiException;
import io.weir.gateway.http.JsonFields;
import io.weir.infra.messages.SamplingParams;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * LLM Engine's CompletionSyncV1Request / CompletionStreamV1Request (the same fields) into sampling
 * parameters, with the server's rules: schema violations are 422, rule violations 400 (§6 of the API
 * contract). Other routes taking the same fields (the batch routes) read them with {@link #sampling} and
 * {@link #timeout}.
 */
public final class CompletionV1Parser {
    private static final List<String> GUIDED = List.of("guided_json", "guided_regex", "guided_choice", "guided_grammar");

    /** What a v1 body asks for. {@code timeoutSeconds} is null when the caller set no deadline. */
    record CompletionV1(String prompt, SamplingParams sampling, Double timeoutSeconds) {
    }

    private CompletionV1Parser() {
    }

    static CompletionV1 parse(Buffer body) {
        JsonFields f = JsonFields.parse(body);
        String prompt = f.requiredString("prompt");
        SamplingParams sampling = sampling(f);
        return new CompletionV1(prompt, sampling, timeoutSeconds(f));
    }

    /** The deadline a body asks for ({@code timeout}, seconds), else the default. */
    public static Duration timeout(JsonFields f) {
        Double seconds = timeoutSeconds(f);
        return seconds == null ? CompletionCalls.DEFAULT_TIMEOUT : Duration.ofMillis((long) (seconds * 1000));
    }

    private static Double timeoutSeconds(JsonFields f) {
        Double timeout = f.optionalDouble("timeout");
        JsonFields.checkRange("timeout", timeout, 0, false, 86_400);
        return timeout;
    }

    /** The sampling fields of a v1 body (max_new_tokens, temperature, top_k...), checked. */
    public static SamplingParams sampling(JsonFields f) {
        int maxNewTokens = f.requiredInt("max_new_tokens");
        double temperature = f.requiredDouble("temperature");
        JsonFields.checkRange("temperature", temperature, 0, true, 1);
        Double presence = f.optionalDouble("presence_penalty");
        JsonFields.checkRange("presence_penalty", presence, 0, true, 2);
        Double frequency = f.optionalDouble("frequency_penalty");
        JsonFields.checkRange("frequency_penalty", frequency, 0, true, 2);
        Integer topK = f.optionalInt("top_k");
        if (topK != null && topK < -1) {
            throw ApiException.invalid("greater_than_equal", "top_k", "Input should be greater than or equal to -1");
        }
        Double topP = f.optionalDouble("top_p");
        JsonFields.checkRange("top_p", topP, 0, false, 1);
        List<String> stops = f.optionalStringList("stop_sequences");
        Boolean returnLogProbs = f.optionalBoolean("return_token_log_probs");
        Boolean includeStop = f.optionalBoolean("include_stop_str_in_output");
        Boolean skipSpecial = f.optionalBoolean("skip_special_tokens");
        Long seed = f.optionalLong("seed");

        if (maxNewTokens <= 0) {
            throw ApiException.badRequest("max_new_tokens must be at least 1, got " + maxNewTokens);
        }
        if (temperature == 0 && ((topK != null && topK != -1) || (topP != null && topP != 1.0))) {
            throw ApiException.badRequest("top_k and top_p can't be enabled when temperature is 0.");
        }
        if (topK != null && topK == 0) {
            throw ApiException.badRequest("top_k must be -1 (disable) or at least 1, got 0.");
        }
        long guided = GUIDED.stream().filter(f::has).count();
        if (guided > 1) {
            throw ApiException.badRequest("Only one of guided_json, guided_choice, guided_regex, guided_grammar can be enabled.");
        }
        if (guided == 1) {
            throw ApiException.badRequest("Guided decoding (" + Stream.of(GUIDED.toArray(String[]::new)).filter(f::has).findFirst().orElseThrow()
                    + ") is not supported by this server yet; the request was not run.");
        }
        return new SamplingParams(maxNewTokens, temperature, topK, topP, presence, frequency, stops,
                includeStop, returnLogProbs, null, seed, skipSpecial);
    }
}

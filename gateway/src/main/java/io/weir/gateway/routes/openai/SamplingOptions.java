package io.weir.gateway.routes.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.gateway.http.JsonFields;
import io.weir.infra.messages.SamplingParams;

import java.util.List;

/**
 * The generation fields OpenAI's completions and chat APIs share (with vLLM's extras), read and checked once.
 * Fields that would change the result in a way this server cannot honour yet are refused with 400, never
 * ignored; fields that do not affect the result ({@code user}, {@code metadata}...) and unknown ones are ignored.
 *
 * @param maxTokens     the caller's token budget, or null for the API's default
 * @param topLogprobs   alternatives per token when log-probabilities are asked for, else null
 * @param stream        answer as server-sent events
 * @param includeUsage  {@code stream_options.include_usage}: a final usage chunk
 * @param addSpecialTokens vLLM's add_special_tokens, or null for the route's default
 */
record SamplingOptions(Integer maxTokens, double temperature, Double topP, Integer topK, Double presencePenalty,
                       Double frequencyPenalty, List<String> stop, Boolean includeStopStrInOutput, Boolean skipSpecialTokens,
                       Long seed, int n, Integer topLogprobs, boolean stream, boolean includeUsage, Boolean addSpecialTokens) {

    static final int MAX_N = 128;
    private static final int MAX_STOP = 4;
    private static final List<String> GUIDED = List.of("guided_json", "guided_regex", "guided_choice", "guided_grammar",
            "structured_outputs");
    /** Spreads the seeds of a request's samples apart (the 64-bit golden ratio, as SplittableRandom uses). */
    private static final long SEED_STRIDE = 0x9E3779B97F4A7C15L;

    static SamplingOptions read(JsonFields f, Integer maxTokens, Integer topLogprobs) {
        if (maxTokens != null && maxTokens < 1) {
            throw OpenAiError.invalid("max_tokens", "max_tokens must be at least 1, got " + maxTokens).exception();
        }
        Double temperature = f.optionalDouble("temperature");
        JsonFields.checkRange("temperature", temperature, 0, true, 2);
        Double topP = f.optionalDouble("top_p");
        JsonFields.checkRange("top_p", topP, 0, false, 1);
        Integer topK = f.optionalInt("top_k");
        if (topK != null && topK < -1) {
            throw OpenAiError.invalid("top_k", "top_k must be -1 (disabled) or positive, got " + topK).exception();
        }
        Double presence = f.optionalDouble("presence_penalty");
        JsonFields.checkRange("presence_penalty", presence, -2, true, 2);
        Double frequency = f.optionalDouble("frequency_penalty");
        JsonFields.checkRange("frequency_penalty", frequency, -2, true, 2);
        Integer n = f.optionalInt("n");
        if (n != null && (n < 1 || n > MAX_N)) {
            throw OpenAiError.invalid("n", "n must be between 1 and " + MAX_N + ", got " + n).exception();
        }
        boolean stream = Boolean.TRUE.equals(f.optionalBoolean("stream"));
        JsonNode streamOptions = f.node("stream_options");
        if (streamOptions != null && !stream) {
            throw OpenAiError.invalid("stream_options", "stream_options is only allowed when stream is true").exception();
        }
        if (streamOptions != null && !streamOptions.isObject()) {
            throw OpenAiError.invalid("stream_options", "stream_options must be an object").exception();
        }
        boolean includeUsage = streamOptions != null && streamOptions.path("include_usage").asBoolean(false);
        int samples = n == null ? 1 : n;
        refuseUnsupported(f, samples);
        return new SamplingOptions(maxTokens, temperature == null ? 1.0 : temperature, topP,
                topK == null || topK <= 0 ? null : topK, presence, frequency, stops(f), f.optionalBoolean("include_stop_str_in_output"),
                f.optionalBoolean("skip_special_tokens"), f.optionalLong("seed"), samples, topLogprobs, stream, includeUsage,
                f.optionalBoolean("add_special_tokens"));
    }

    /** {@code stop}: a string or a list of at most four. */
    private static List<String> stops(JsonFields f) {
        JsonNode stop = f.node("stop");
        if (stop == null) {
            return null;
        }
        if (stop.isTextual()) {
            return List.of(stop.textValue());
        }
        List<String> stops = f.optionalStringList("stop");
        if (stops.size() > MAX_STOP) {
            throw OpenAiError.invalid("stop", "stop takes at most " + MAX_STOP + " sequences, got " + stops.size()).exception();
        }
        if (stops.stream().anyMatch(String::isEmpty)) {
            throw OpenAiError.invalid("stop", "stop sequences must not be empty").exception();
        }
        return List.copyOf(stops);
    }

    private static void refuseUnsupported(JsonFields f, int n) {
        for (String guided : GUIDED) {
            if (f.has(guided)) {
                throw OpenAiError.notSupported(guided, "Guided decoding (" + guided + ")").exception();
            }
        }
        JsonNode format = f.node("response_format");
        if (format != null && !"text".equals(format.path("type").asText())) {
            throw OpenAiError.notSupported("response_format", "response_format " + format.path("type").asText(format.toString())).exception();
        }
        Integer minTokens = f.optionalInt("min_tokens");
        if (minTokens != null && minTokens != 0) {
            throw OpenAiError.notSupported("min_tokens", "min_tokens").exception();
        }
        if (Boolean.TRUE.equals(f.optionalBoolean("ignore_eos"))) {
            throw OpenAiError.notSupported("ignore_eos", "ignore_eos").exception();
        }
        if (Boolean.TRUE.equals(f.optionalBoolean("use_beam_search"))) {
            throw OpenAiError.notSupported("use_beam_search", "Beam search").exception();
        }
        Integer bestOf = f.optionalInt("best_of");
        if (bestOf != null && bestOf != n) {
            throw OpenAiError.notSupported("best_of", "best_of other than n").exception();
        }
        Double minP = f.optionalDouble("min_p");
        if (minP != null && minP != 0) {
            throw OpenAiError.notSupported("min_p", "min_p").exception();
        }
        Double repetition = f.optionalDouble("repetition_penalty");
        if (repetition != null && repetition != 1) {
            throw OpenAiError.notSupported("repetition_penalty", "repetition_penalty").exception();
        }
        Integer promptLogprobs = f.optionalInt("prompt_logprobs");
        if (promptLogprobs != null && promptLogprobs != 0) {
            throw OpenAiError.notSupported("prompt_logprobs", "prompt_logprobs").exception();
        }
        for (String field : List.of("logit_bias", "stop_token_ids")) {
            JsonNode v = f.node(field);
            if (v != null && !v.isEmpty()) {
                throw OpenAiError.notSupported(field, field).exception();
            }
        }
    }

    /**
     * The worker's sampling parameters for one sample of the request: each of the n samples gets its own seed
     * derived from the request's (sample 0 keeps it, so n = 1 samples exactly as a plain seeded request).
     */
    SamplingParams forSample(int sample, int maxNewTokens, boolean fitToContext) {
        Long sampleSeed = seed == null ? null : seed + sample * SEED_STRIDE;
        boolean logprobs = topLogprobs != null;
        return new SamplingParams(maxNewTokens, temperature, topK, topP, presencePenalty, frequencyPenalty, stop,
                includeStopStrInOutput, logprobs ? Boolean.TRUE : null, logprobs && topLogprobs > 0 ? topLogprobs : null,
                sampleSeed, skipSpecialTokens, fitToContext ? Boolean.TRUE : null);
    }
}

package io.weir.infra.messages;

import com.fasterxml.jackson.annotation.JsonIgnore;

import java.util.List;

/**
 * How to generate: one object, validated once at the edge (gateway or completion-service) and
 * carried unchanged to the worker, in the spirit of vLLM's SamplingParams.
 *
 * @param maxNewTokens          tokens to generate at most (> 0)
 * @param temperature           0 means greedy (argmax); otherwise logits are divided by it
 * @param topK                  keep the k most likely tokens; null or -1 means all
 * @param topP                  nucleus sampling mass in (0, 1]; null means 1
 * @param presencePenalty       subtracted once from the logit of every token already generated (0..2)
 * @param frequencyPenalty      subtracted per occurrence of a token already generated (0..2)
 * @param stopSequences         generation stops before (or after, see below) the first of these strings
 * @param includeStopStrInOutput keep the matched stop string in the output
 * @param returnLogProbs        attach the sampled token's log-probability to each token event
 * @param topLogprobs           also attach the n most likely alternatives (0 = none)
 * @param seed                  seeds the sampler's RNG so sampled text is reproducible
 * @param skipSpecialTokens     leave special tokens (BOS/EOS...) out of the text
 * @param fitToContext          maxNewTokens is only an upper bound: the worker lowers it to what the context
 *                              leaves after the prompt instead of refusing the request (OpenAI chat's default
 *                              when max_tokens is not given); null means false
 */
public record SamplingParams(
        int maxNewTokens,
        double temperature,
        Integer topK,
        Double topP,
        Double presencePenalty,
        Double frequencyPenalty,
        List<String> stopSequences,
        Boolean includeStopStrInOutput,
        Boolean returnLogProbs,
        Integer topLogprobs,
        Long seed,
        Boolean skipSpecialTokens,
        Boolean fitToContext) {

    /** Parameters whose maxNewTokens must fit the context with the prompt. */
    public SamplingParams(int maxNewTokens, double temperature, Integer topK, Double topP, Double presencePenalty,
                          Double frequencyPenalty, List<String> stopSequences, Boolean includeStopStrInOutput,
                          Boolean returnLogProbs, Integer topLogprobs, Long seed, Boolean skipSpecialTokens) {
        this(maxNewTokens, temperature, topK, topP, presencePenalty, frequencyPenalty, stopSequences,
                includeStopStrInOutput, returnLogProbs, topLogprobs, seed, skipSpecialTokens, null);
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(maxNewTokens, 0.0, null, null, null, null, null, null, null, null, null, null);
    }

    public SamplingParams withSeed(Long newSeed) {
        return new SamplingParams(maxNewTokens, temperature, topK, topP, presencePenalty, frequencyPenalty, stopSequences,
                includeStopStrInOutput, returnLogProbs, topLogprobs, newSeed, skipSpecialTokens, fitToContext);
    }

    /** The same parameters with another token budget. */
    public SamplingParams withMaxNewTokens(int newMaxNewTokens) {
        return new SamplingParams(newMaxNewTokens, temperature, topK, topP, presencePenalty, frequencyPenalty, stopSequences,
                includeStopStrInOutput, returnLogProbs, topLogprobs, seed, skipSpecialTokens, fitToContext);
    }

    @JsonIgnore
    public boolean isGreedy() {
        return temperature == 0.0;
    }

    @JsonIgnore
    public int effectiveTopK() {
        return topK == null || topK < 0 ? -1 : topK;
    }

    @JsonIgnore
    public double effectiveTopP() {
        return topP == null ? 1.0 : topP;
    }

    @JsonIgnore
    public boolean wantsLogProbs() {
        return Boolean.TRUE.equals(returnLogProbs) || effectiveTopLogprobs() > 0;
    }

    @JsonIgnore
    public int effectiveTopLogprobs() {
        return topLogprobs == null ? 0 : topLogprobs;
    }

    @JsonIgnore
    public boolean effectiveSkipSpecialTokens() {
        return skipSpecialTokens == null || skipSpecialTokens;
    }

    @JsonIgnore
    public boolean effectiveFitToContext() {
        return Boolean.TRUE.equals(fitToContext);
    }

    @JsonIgnore
    public List<String> effectiveStopSequences() {
        return stopSequences == null ? List.of() : stopSequences;
    }
}

package io.weir.registry.usage;

import com.fasterxml.jackson.annotation.JsonIgnore;

/** Requests and the tokens they took: prompt tokens read, completion tokens generated. */
public record TokenCounts(long requests, long promptTokens, long completionTokens) {
    public static final TokenCounts ZERO = new TokenCounts(0, 0, 0);

    @JsonIgnore
    public long totalTokens() {
        return promptTokens + completionTokens;
    }

    public TokenCounts plusRequest(long prompt, long completion) {
        return new TokenCounts(requests + 1, promptTokens + prompt, completionTokens + completion);
    }
}

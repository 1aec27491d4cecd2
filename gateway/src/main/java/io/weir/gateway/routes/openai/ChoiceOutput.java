package io.weir.gateway.routes.openai;

import io.weir.infra.messages.CompletionEvent;

import java.util.ArrayList;
import java.util.List;

/** One choice of a response as its events arrive: text so far, per-token log-probabilities, counts, end. */
final class ChoiceOutput {
    /**
     * A generated token's log-probability and the alternatives the caller asked for. Tokens are spelled as
     * the vocabulary spells them (e.g. {@code ▁there}), as transformers' convert_ids_to_tokens does.
     *
     * @param textOffset where the token's text starts in the choice's text
     */
    record TokenLogprob(String token, double logprob, List<CompletionEvent.TopLogprob> top, int textOffset) {
    }

    final int index;
    private final StringBuilder text = new StringBuilder();
    private final List<TokenLogprob> logprobs = new ArrayList<>();
    private String finishReason;
    private int promptTokens;
    private int completionTokens;
    private boolean announced;

    ChoiceOutput(int index) {
        this.index = index;
    }

    /** Adds an event; returns its token's log-probability entry, or null when none was asked for. */
    TokenLogprob append(CompletionEvent event) {
        int offset = text.length();
        text.append(event.text() == null ? "" : event.text());
        if (event.numPromptTokens() != null) {
            promptTokens = event.numPromptTokens();
        }
        if (event.numCompletionTokens() != null) {
            completionTokens = event.numCompletionTokens();
        }
        if (event.finished()) {
            finishReason = event.finishReason();
        }
        if (event.logProb() == null) {
            return null;
        }
        TokenLogprob entry = new TokenLogprob(event.token(), event.logProb(),
                event.topLogprobs() == null ? List.of() : event.topLogprobs(), offset);
        logprobs.add(entry);
        return entry;
    }

    String text() {
        return text.toString();
    }

    /** The log-probabilities of every token, or null when the caller did not ask for them. */
    List<TokenLogprob> logprobs(boolean asked) {
        return asked ? logprobs : null;
    }

    String finishReason() {
        return finishReason;
    }

    int promptTokens() {
        return promptTokens;
    }

    int completionTokens() {
        return completionTokens;
    }

    /** True the first time only: a chat stream's first chunk of a choice carries the role. */
    boolean announce() {
        boolean first = !announced;
        announced = true;
        return first;
    }
}

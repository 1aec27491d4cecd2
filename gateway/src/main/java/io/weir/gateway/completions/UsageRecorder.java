package io.weir.gateway.completions;

import io.weir.infra.messages.CompletionEvent;
import io.weir.registry.usage.UsageLedger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;

/**
 * Counts a finished call's tokens in its tenant's usage. Every token event carries the prompt's length and
 * the tokens generated so far, so the last one a call received is what the tenant used: the final counts of
 * a finished request, or the part a request got before it ended early (caller gone, deadline, error).
 * Counting does not hold up the answer; a failure to count is logged, never turned into a failed request.
 */
public final class UsageRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(UsageRecorder.class);

    private final UsageLedger ledger;
    private final Clock clock;

    public UsageRecorder(UsageLedger ledger, Clock clock) {
        this.ledger = ledger;
        this.clock = clock;
    }

    /** @param lastToken the last token event the call got; null if it got none (nothing to count) */
    void count(String tenant, String model, CompletionEvent lastToken) {
        if (lastToken == null || lastToken.numCompletionTokens() == null) {
            return;
        }
        int prompt = lastToken.numPromptTokens() == null ? 0 : lastToken.numPromptTokens();
        ledger.record(tenant, model, prompt, lastToken.numCompletionTokens(), clock.instant()).whenComplete((v, e) -> {
            if (e != null) {
                LOG.error("usage of {} on {} ({} + {} tokens) was not counted: {}", tenant, model, prompt,
                        lastToken.numCompletionTokens(), e.toString());
            }
        });
    }
}

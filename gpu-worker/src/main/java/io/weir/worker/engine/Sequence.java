package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.FinishReason;
import io.weir.infra.messages.SamplingParams;
import io.weir.worker.sampling.LogProbs;
import io.weir.worker.sampling.Sampler;
import io.weir.worker.sampling.StopSequences;
import io.weir.worker.tokenizer.IncrementalDecoder;

import java.util.List;

/**
 * One running request: its KV-cache slot, where it is in the sequence, and the per-request state that
 * turns sampled tokens into reply events (sampler with its RNG, incremental detokenizer, stop strings).
 * Owned by the engine thread.
 */
final class Sequence {
    final PreparedRequest prepared;
    final int slot;
    private final LoadedModel model;
    private final Sampler sampler;
    private final IncrementalDecoder decoder;
    private final StopSequences stops;
    private int position;          // tokens already in the KV cache
    private int lastToken = -1;    // next input, once the prompt is in
    private int generated;
    private int nextSeq;
    private boolean done;

    Sequence(PreparedRequest prepared, int slot, LoadedModel model) {
        this.prepared = prepared;
        this.slot = slot;
        this.model = model;
        SamplingParams params = prepared.request().sampling();
        this.sampler = new Sampler(params, model.config().vocabSize());
        this.decoder = model.tokenizer().newIncrementalDecoder(prepared.promptIds(), params.effectiveSkipSpecialTokens());
        this.stops = new StopSequences(params.effectiveStopSequences(), Boolean.TRUE.equals(params.includeStopStrInOutput()));
    }

    CompletionRequest request() {
        return prepared.request();
    }

    /** True once the whole prompt is in the KV cache: from then on each step feeds one sampled token. */
    boolean prefilled() {
        return position >= prepared.promptIds().length;
    }

    /**
     * The tokens to feed at this step, at most {@code budget}: the next chunk of the prompt while
     * prefilling (long prompts take several steps, so running streams keep flowing), then the last
     * sampled token.
     */
    int[] nextInput(int budget) {
        if (prefilled()) {
            return new int[]{lastToken};
        }
        int[] prompt = prepared.promptIds();
        return java.util.Arrays.copyOfRange(prompt, position, Math.min(prompt.length, position + budget));
    }

    int position() {
        return position;
    }

    boolean isDone() {
        return done;
    }

    /**
     * Consumes the step just run: {@code logits} are those of the last token fed. Returns the event to
     * send, or null while the prompt is still being prefilled.
     */
    CompletionEvent advance(int inputLength, float[] logits) {
        position += inputLength;
        if (!prefilled()) {
            return null;
        }
        SamplingParams params = request().sampling();
        int token = sampler.sample(logits);
        generated++;
        lastToken = token;

        FinishReason finish = null;
        String text;
        if (model.isStopToken(token)) {
            finish = FinishReason.STOP;
            text = drainAtEnd();
        } else {
            text = stops.accept(decoder.append(token));
            if (stops.stopped()) {
                finish = FinishReason.STOP;
            } else if (generated >= params.maxNewTokens() || position + 1 > model.config().maxSeqLen()) {
                finish = FinishReason.LENGTH;
                text += drainAtEnd();
            }
        }
        done = finish != null;

        Double logProb = null;
        List<CompletionEvent.TopLogprob> top = null;
        if (params.wantsLogProbs()) {
            LogProbs lp = new LogProbs(logits);
            logProb = lp.of(token);
            if (params.effectiveTopLogprobs() > 0) {
                top = lp.top(params.effectiveTopLogprobs()).stream()
                        .map(t -> new CompletionEvent.TopLogprob(t, model.tokenizer().tokenPiece(t), lp.of(t)))
                        .toList();
            }
        }
        return new CompletionEvent(request().requestId(), nextSeq++, CompletionEvent.Kind.TOKEN, text, token,
                model.tokenizer().tokenPiece(token), logProb, top, prepared.promptIds().length, generated,
                done, done ? finish.wireName() : null, null);
    }

    /** The text still held back when generation ends: incomplete bytes, a partial stop string that never completed. */
    private String drainAtEnd() {
        String text = stops.accept(decoder.finish());
        return stops.stopped() ? text : text + stops.flush();
    }

    /** The event that ends this request because it was cancelled; text still held back is dropped. */
    CompletionEvent cancel() {
        done = true;
        return CompletionEvent.cancelled(request().requestId(), nextSeq++, prepared.promptIds().length, generated);
    }

    /** The event that ends this request with an error. */
    CompletionEvent fail(int status, String message) {
        done = true;
        return CompletionEvent.error(request().requestId(), nextSeq++, status, message);
    }
}

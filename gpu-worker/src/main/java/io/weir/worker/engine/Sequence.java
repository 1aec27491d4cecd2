package io.weir.worker.engine;

import io.weir.infra.messages.CompletionEvent;
import io.weir.infra.messages.CompletionRequest;
import io.weir.infra.messages.FinishReason;
import io.weir.infra.messages.SamplingParams;
import io.weir.worker.kvcache.BlockTable;
import io.weir.worker.sampling.LogProbs;
import io.weir.worker.sampling.Sampler;
import io.weir.worker.sampling.StopSequences;
import io.weir.worker.tokenizer.IncrementalDecoder;

import java.util.List;

/**
 * One request in the engine: its tokens so far (prompt, then sampled ones), how many of them are in its KV blocks,
 * and the per-request state that turns sampled tokens into reply events (sampler with its RNG, incremental
 * detokenizer, stop strings). Owned by the engine thread.
 *
 * <p>Each step feeds the tokens not yet in the cache, {@code tokens[position..length)}, or a chunk of them: the
 * prompt (in chunks, so running streams keep flowing), then one sampled token at a time. When a step has fed
 * everything, its last row's logits sample the next token. A preempted sequence loses its blocks and starts
 * over from position 0 with its prompt and every token sampled so far, so it continues exactly where it was.
 */
final class Sequence {
    final PreparedRequest prepared;
    final BlockTable blocks = new BlockTable();
    final long arrival;            // order of arrival: preemption takes the youngest first
    private final LoadedModel model;
    private final Sampler sampler;
    private final IncrementalDecoder decoder;
    private final StopSequences stops;
    private final int[] tokens;    // prompt + sampled tokens
    private int length;
    private int position;          // tokens already in the KV cache
    private int generated;
    private int nextSeq;
    private boolean done;

    Sequence(PreparedRequest prepared, LoadedModel model, long arrival) {
        this.prepared = prepared;
        this.model = model;
        this.arrival = arrival;
        SamplingParams params = prepared.request().sampling();
        this.sampler = new Sampler(params, model.config().vocabSize());
        this.decoder = model.tokenizer().newIncrementalDecoder(prepared.promptIds(), params.effectiveSkipSpecialTokens());
        this.stops = new StopSequences(params.effectiveStopSequences(), Boolean.TRUE.equals(params.includeStopStrInOutput()));
        int[] prompt = prepared.promptIds();
        this.tokens = java.util.Arrays.copyOf(prompt, prompt.length + Math.max(params.maxNewTokens(), 0));
        this.length = prompt.length;
    }

    CompletionRequest request() {
        return prepared.request();
    }

    /** Every token so far (valid up to {@link #length()}). */
    int[] tokens() {
        return tokens;
    }

    int length() {
        return length;
    }

    int position() {
        return position;
    }

    /** Tokens still to feed: the rest of the prompt while prefilling, 1 while decoding. */
    int pending() {
        return length - position;
    }

    /** True when the next step feeds one sampled token (not a prompt chunk). */
    boolean decoding() {
        return pending() == 1 && generated > 0;
    }

    boolean isDone() {
        return done;
    }

    /** Positions already in shared prefix blocks (set at admission). */
    void startAt(int cachedPositions) {
        position = cachedPositions;
    }

    /** The blocks are gone (preemption): everything is recomputed from position 0. */
    void restart() {
        position = 0;
    }

    /** The step fed {@code n} more tokens; true when they were all, so this step's logits sample the next token. */
    boolean fed(int n) {
        position += n;
        return position == length;
    }

    /** True when the next token is the argmax of the logits and nothing else of them is needed (no log-probs). */
    boolean needsOnlyArgmax() {
        return sampler.isPlainGreedy() && !request().sampling().wantsLogProbs();
    }

    /** Takes {@code token}, the argmax of the last logits, as the next token ({@link #needsOnlyArgmax()}). */
    CompletionEvent acceptArgmax(int token) {
        sampler.record(token);
        return accept(token, null);
    }

    /** Samples the next token from the logits of the last token fed and returns the event to send. */
    CompletionEvent sample(float[] logits) {
        return accept(sampler.sample(logits), logits);
    }

    private CompletionEvent accept(int token, float[] logits) {
        SamplingParams params = request().sampling();
        generated++;
        tokens[length++] = token;

        FinishReason finish = null;
        String text;
        if (model.isStopToken(token)) {
            finish = FinishReason.STOP;
            text = drainAtEnd();
        } else {
            text = stops.accept(decoder.append(token));
            if (stops.stopped()) {
                finish = FinishReason.STOP;
            } else if (generated >= params.maxNewTokens() || length >= model.runner().maxSeqLen()) {
                finish = FinishReason.LENGTH;
                text += drainAtEnd();
            }
        }
        done = finish != null;

        Double logProb = null;
        List<CompletionEvent.TopLogprob> top = null;
        if (params.wantsLogProbs() && logits != null) {
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

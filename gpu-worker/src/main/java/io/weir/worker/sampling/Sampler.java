package io.weir.worker.sampling;

import io.weir.infra.messages.SamplingParams;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Picks the next token from a row of logits, as a pipeline in vLLM's order: penalties → temperature →
 * top-k → top-p → sample. Each sequence owns its sampler and its RNG, so a seeded request replays
 * exactly whatever else runs beside it.
 *
 * <p>Log-probabilities reported to users are those of the model's raw distribution (before penalties
 * and temperature), as vLLM reports them by default.
 */
public final class Sampler {
    private final SamplingParams params;
    private final RandomGenerator random;
    private final int[] outputCounts;
    private final float[] work;
    private final Integer[] order;

    public Sampler(SamplingParams params, int vocabSize) {
        this.params = params;
        long seed = params.seed() != null ? params.seed() : RandomGenerator.getDefault().nextLong();
        this.random = RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
        this.outputCounts = new int[vocabSize];
        this.work = new float[vocabSize];
        this.order = new Integer[vocabSize];
    }

    /** True when the token is simply the argmax of the raw logits (greedy, no penalties). */
    public boolean isPlainGreedy() {
        return params.isGreedy() && !hasPenalties();
    }

    /** Records a token chosen outside {@link #sample} (the argmax of a plain-greedy request). */
    public void record(int token) {
        outputCounts[token]++;
    }

    /** The sampled token; {@code logits} is left untouched. */
    public int sample(float[] logits) {
        if (isPlainGreedy()) { // the common case needs no copy of the row
            int token = argmax(logits);
            outputCounts[token]++;
            return token;
        }
        System.arraycopy(logits, 0, work, 0, work.length);
        applyPenalties(work);
        int token = params.isGreedy() ? argmax(work) : sampleFromDistribution(work);
        outputCounts[token]++;
        return token;
    }

    private boolean hasPenalties() {
        return (params.presencePenalty() != null && params.presencePenalty() != 0)
                || (params.frequencyPenalty() != null && params.frequencyPenalty() != 0);
    }

    private void applyPenalties(float[] l) {
        double presence = params.presencePenalty() == null ? 0 : params.presencePenalty();
        double frequency = params.frequencyPenalty() == null ? 0 : params.frequencyPenalty();
        if (presence == 0 && frequency == 0) {
            return;
        }
        for (int t = 0; t < l.length; t++) {
            if (outputCounts[t] > 0) {
                l[t] -= (float) (presence + frequency * outputCounts[t]);
            }
        }
    }

    private int sampleFromDistribution(float[] l) {
        int n = l.length;
        float max = Float.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double invT = 1.0 / params.temperature();
        // Candidates sorted by logit, most likely first; cut to top-k, then to the top-p mass.
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        int k = params.effectiveTopK() > 0 ? Math.min(params.effectiveTopK(), n) : n;
        double[] probs = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            probs[i] = Math.exp((l[order[i]] - max) * invT);
            sum += probs[i];
        }
        double topP = params.effectiveTopP();
        int kept = k;
        if (topP < 1.0) {
            double cumulative = 0;
            for (int i = 0; i < k; i++) {
                cumulative += probs[i] / sum;
                if (cumulative >= topP) {
                    kept = i + 1;
                    break;
                }
            }
        }
        double keptSum = 0;
        for (int i = 0; i < kept; i++) {
            keptSum += probs[i];
        }
        double r = random.nextDouble() * keptSum;
        for (int i = 0; i < kept; i++) {
            r -= probs[i];
            if (r < 0) {
                return order[i];
            }
        }
        return order[kept - 1];
    }

    /** The first index of the largest value (NaNs ignored). Runs once per token over the whole vocabulary. */
    public static int argmax(float[] l) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : l) { // a plain max reduction, which the JIT vectorizes
            max = Math.max(max, v);
        }
        if (!Float.isNaN(max)) {
            for (int i = 0; i < l.length; i++) {
                if (l[i] == max) {
                    return i;
                }
            }
        }
        int best = 0; // NaNs (or all -inf): compare one by one
        for (int i = 1; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }
}

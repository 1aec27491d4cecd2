package io.weir.worker.sampling;

import java.util.ArrayList;
import java.util.List;

/** Natural-log softmax of raw logits, computed in double: what the API reports as log_prob. */
public final class LogProbs {
    private final float[] logits;
    private final double logSumExp;

    public LogProbs(float[] logits) {
        this.logits = logits;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        this.logSumExp = max + Math.log(sum);
    }

    public double of(int token) {
        return logits[token] - logSumExp;
    }

    /** The n most likely tokens, most likely first. */
    public List<Integer> top(int n) {
        List<Integer> best = new ArrayList<>(n + 1);
        for (int t = 0; t < logits.length; t++) {
            int at = best.size();
            while (at > 0 && logits[best.get(at - 1)] < logits[t]) {
                at--;
            }
            if (at < n) {
                best.add(at, t);
                if (best.size() > n) {
                    best.removeLast();
                }
            }
        }
        return best;
    }
}

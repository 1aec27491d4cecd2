package io.weir.worker.sampling;

import io.weir.infra.messages.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static SamplingParams params(double temperature, Integer topK, Double topP, Long seed, Double presence, Double frequency) {
        return new SamplingParams(16, temperature, topK, topP, presence, frequency, null, null, null, null, seed, null);
    }

    private static float[] randomLogits(long seed, int n) {
        Random r = new Random(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) r.nextGaussian() * 3;
        }
        return l;
    }

    @Test
    void greedyIsArgmaxAndTopKOneEqualsGreedy() {
        for (long s = 0; s < 20; s++) {
            float[] logits = randomLogits(s, 100);
            int argmax = Sampler.argmax(logits);
            assertEquals(argmax, new Sampler(params(0, null, null, null, null, null), 100).sample(logits));
            assertEquals(argmax, new Sampler(params(1.0, 1, null, s, null, null), 100).sample(logits));
        }
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        float[] logits = new float[50]; // uniform: every draw is decided by the RNG alone
        Sampler a = new Sampler(params(1.0, null, null, 42L, null, null), 50);
        Sampler b = new Sampler(params(1.0, null, null, 42L, null, null), 50);
        Sampler c = new Sampler(params(1.0, null, null, 43L, null, null), 50);
        StringBuilder sa = new StringBuilder(), sb = new StringBuilder(), sc = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            sa.append(a.sample(logits)).append(',');
            sb.append(b.sample(logits)).append(',');
            sc.append(c.sample(logits)).append(',');
        }
        assertEquals(sa.toString(), sb.toString());
        assertNotEquals(sa.toString(), sc.toString());
    }

    @Test
    void samplingFollowsTheSoftmaxDistribution() {
        float[] logits = {0f, (float) Math.log(3), -100f}; // probabilities 1/4, 3/4, ~0
        Sampler s = new Sampler(params(1.0, null, null, 7L, null, null), 3);
        int[] counts = new int[3];
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            counts[s.sample(logits)]++;
        }
        assertEquals(0.25, counts[0] / (double) n, 0.02);
        assertEquals(0.75, counts[1] / (double) n, 0.02);
        assertEquals(0, counts[2]);
    }

    @Test
    void topPKeepsOnlyTheNucleus() {
        float[] logits = {5f, 4.9f, 0f, 0f, 0f};
        Sampler s = new Sampler(params(1.0, null, 0.5, 3L, null, null), 5);
        for (int i = 0; i < 500; i++) {
            assertEquals(0, s.sample(logits), "top_p 0.5 keeps only the most likely token here");
        }
    }

    @Test
    void presencePenaltyDiscouragesRepeats() {
        float[] logits = {1f, 0.9f};
        Sampler s = new Sampler(params(0, null, null, null, 0.5, null), 2);
        assertEquals(0, s.sample(logits));
        assertEquals(1, s.sample(logits), "token 0 was penalised below token 1");
    }

    @Test
    void logProbsAreANormalisedLogSoftmax() {
        float[] logits = randomLogits(1, 64);
        LogProbs lp = new LogProbs(logits);
        double sum = 0;
        for (int t = 0; t < logits.length; t++) {
            sum += Math.exp(lp.of(t));
        }
        assertEquals(1.0, sum, 1e-9);
        var top = lp.top(5);
        assertEquals(5, top.size());
        assertEquals(Sampler.argmax(logits), (int) top.getFirst());
        for (int i = 1; i < top.size(); i++) {
            assertTrue(logits[top.get(i - 1)] >= logits[top.get(i)]);
        }
    }

    @Test
    void argmaxIsTheFirstLargestAndIgnoresNaN() {
        assertEquals(2, Sampler.argmax(new float[] {1f, 3f, 7f, 7f, -2f}));
        assertEquals(0, Sampler.argmax(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}));
        assertEquals(3, Sampler.argmax(new float[] {1f, Float.NaN, 2f, 5f, Float.NaN}));
        float[] big = new float[32000];
        for (int i = 0; i < big.length; i++) big[i] = (float) Math.sin(i);
        int want = 0;
        for (int i = 1; i < big.length; i++) if (big[i] > big[want]) want = i;
        assertEquals(want, Sampler.argmax(big));
    }
}

package io.weir.worker.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/** stories260K golden.json cases and the checks the golden tests share. */
final class Golden {
    record Top(int tokenId, double logprob, double logit) {}

    record Case(String id, int[] prompt, int[] greedy, List<Top> top5) {}

    private Golden() {}

    static List<Case> load(Path modelDir) throws IOException {
        JsonNode root = new ObjectMapper().readTree(modelDir.resolve("golden.json").toFile());
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            List<Top> top = new ArrayList<>();
            for (JsonNode t : c.get("first_token_top5"))
                top.add(new Top(t.get("token_id").asInt(), t.get("logprob").asDouble(), t.get("logit").asDouble()));
            cases.add(new Case(c.get("id").asText(), ints(c.get("prompt_token_ids")), ints(c.get("greedy_token_ids")), top));
        }
        return cases;
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /** Natural-log softmax, in double. */
    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float l : logits) max = Math.max(max, l);
        for (float l : logits) sum += Math.exp(l - max);
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
        return out;
    }

    /** Prefills the prompt, then greedy-decodes n tokens one at a time. Returns the tokens; logits of the first step in first. */
    static int[] greedy(ModelRunner runner, int slot, int[] prompt, int n, float[] first) {
        float[] logits = new float[runner.config().vocabSize()];
        runner.forward(slot, prompt, 0, logits);
        if (first != null) System.arraycopy(logits, 0, first, 0, logits.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = argmax(logits);
            if (i + 1 < n) runner.forward(slot, new int[] {out[i]}, prompt.length + i, logits);
        }
        return out;
    }

    /** Every golden case: 32 greedy ids exact, first-position top-5 ids, logprobs (1e-4) and logits (1e-3). */
    static void check(ModelRunner runner, List<Case> cases) {
        for (Case c : cases) {
            float[] first = new float[runner.config().vocabSize()];
            int[] got = greedy(runner, 0, c.prompt(), c.greedy().length, first);
            assertArrayEquals(c.greedy(), got, c.id() + ": greedy tokens on " + runner.backendName());

            double[] lp = logSoftmax(first);
            int[] top = IntStream.range(0, first.length).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> first[i]).reversed())
                    .limit(c.top5().size()).mapToInt(Integer::intValue).toArray();
            for (int k = 0; k < c.top5().size(); k++) {
                Top want = c.top5().get(k);
                assertEquals(want.tokenId(), top[k], c.id() + ": top-5 rank " + k);
                assertEquals(want.logprob(), lp[want.tokenId()], 1e-4, c.id() + ": logprob of " + want.tokenId());
                assertEquals(want.logit(), first[want.tokenId()], 1e-3, c.id() + ": logit of " + want.tokenId());
            }
        }
    }
}

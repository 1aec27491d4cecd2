package io.weir.worker.bench;

import io.weir.worker.model.RandomCheckpoint;

import java.util.Locale;

/**
 * A model shape the bench generates random weights for (Karpathy's TinyStories models: the work per token depends
 * only on the shape, so tokens/s carry over to the trained weights).
 *
 * @param defaultTokens tokens each stream generates by default
 */
enum Shape {
    STORIES_15M("stories15M", RandomCheckpoint.Spec.stories15M(15), 128),
    STORIES_110M("stories110M", RandomCheckpoint.Spec.stories110M(110), 64);

    private final String label;
    private final RandomCheckpoint.Spec spec;
    private final int defaultTokens;

    Shape(String label, RandomCheckpoint.Spec spec, int defaultTokens) {
        this.label = label;
        this.spec = spec;
        this.defaultTokens = defaultTokens;
    }

    String label() {
        return label;
    }

    RandomCheckpoint.Spec spec() {
        return spec;
    }

    int defaultTokens() {
        return defaultTokens;
    }

    long parameters() {
        return spec.parameterCount();
    }

    /** Weights in matrix products per token that computes logits: all but an untied input embedding table. */
    long matmulParameters() {
        return spec.parameterCount() - (spec.tiedEmbeddings() ? 0 : (long) spec.vocabSize() * spec.dim());
    }

    /** Weights in matrix products per prompt token (no logits: the classifier is left out). */
    long prefillParameters() {
        return matmulParameters() - (long) spec.vocabSize() * spec.dim();
    }

    static Shape named(String name) {
        for (Shape s : values()) {
            if (s.label.toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) return s;
        }
        throw new IllegalArgumentException("unknown shape " + name + " (stories15M or stories110M)");
    }
}

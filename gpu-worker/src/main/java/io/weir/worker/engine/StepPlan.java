package io.weir.worker.engine;

import io.weir.worker.model.ModelRunner;

import java.util.ArrayList;
import java.util.List;

/**
 * The rows of one forward step, laid out for {@link ModelRunner#forwardPaged}: each planned sequence feeds its next
 * {@code n} tokens as consecutive rows, with its block table; a sequence that feeds its last pending token gets
 * its last row's logits computed (only their greedy tokens when every such sequence decodes greedily without
 * log-probs). Buffers are allocated once and reused every step.
 */
final class StepPlan {
    private final int maxRows;
    private final int stride;
    private final int[] tokens, positions, rowSeq, tables, logitRows, rowsOf;
    private final List<Sequence> sequences = new ArrayList<>();
    private int rows, logitCount;
    private boolean greedyOnly = true; // every logit row's sequence takes the argmax and needs nothing else of its logits

    StepPlan(int maxRows, int tableStride) {
        this.maxRows = maxRows;
        this.stride = tableStride;
        this.tokens = new int[maxRows];
        this.positions = new int[maxRows];
        this.rowSeq = new int[maxRows];
        this.tables = new int[maxRows * tableStride];
        this.logitRows = new int[maxRows];
        this.rowsOf = new int[maxRows];
    }

    void clear() {
        sequences.clear();
        rows = 0;
        logitCount = 0;
        greedyOnly = true;
    }

    int rows() {
        return rows;
    }

    int rowsLeft() {
        return maxRows - rows;
    }

    List<Sequence> sequences() {
        return sequences;
    }

    /** Rows the {@code i}-th planned sequence feeds. */
    int rowsOf(int i) {
        return rowsOf[i];
    }

    boolean contains(Sequence seq) {
        return sequences.contains(seq);
    }

    /** Plans {@code n} rows of {@code seq}: its tokens from its position on. Its blocks must already cover them. */
    void add(Sequence seq, int n) {
        int s = sequences.size();
        int[] src = seq.tokens();
        for (int t = 0; t < n; t++) {
            tokens[rows + t] = src[seq.position() + t];
            positions[rows + t] = seq.position() + t;
            rowSeq[rows + t] = s;
        }
        seq.blocks.copyTo(tables, s * stride);
        rows += n;
        if (seq.position() + n == seq.length()) {
            logitRows[logitCount++] = rows - 1;
            greedyOnly &= seq.needsOnlyArgmax();
        }
        rowsOf[s] = n;
        sequences.add(seq);
    }

    void run(ModelRunner runner) {
        runner.forwardPaged(rows, tokens, positions, rowSeq, sequences.size(), tables, logitCount, logitRows, greedyOnly);
    }
}

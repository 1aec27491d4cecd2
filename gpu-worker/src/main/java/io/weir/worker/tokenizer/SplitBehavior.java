package io.weir.worker.tokenizer;

import io.weir.worker.tokenizer.TextPattern.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What a splitting pre-tokenizer does with the delimiters it finds (HF's SplitDelimiterBehavior). */
enum SplitBehavior {
    /** Drops the delimiters. */
    REMOVED,
    /** Keeps every delimiter as its own piece. */
    ISOLATED,
    /** Appends each delimiter to the piece before it. */
    MERGED_WITH_PREVIOUS,
    /** Prepends each delimiter to the piece after it. */
    MERGED_WITH_NEXT,
    /** Keeps runs of consecutive delimiters together, as one piece. */
    CONTIGUOUS;

    static SplitBehavior parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "removed" -> REMOVED;
            case "isolated" -> ISOLATED;
            case "mergedwithprevious", "merged_with_previous" -> MERGED_WITH_PREVIOUS;
            case "mergedwithnext", "merged_with_next" -> MERGED_WITH_NEXT;
            case "contiguous" -> CONTIGUOUS;
            default -> throw TokenizerJson.unsupported("split behavior " + name);
        };
    }

    /** Cuts {@code piece} along {@code spans} (which cover it) and adds the non-empty pieces to {@code out}. */
    void split(Piece piece, List<Span> spans, List<Piece> out) {
        for (Span span : regroup(spans)) {
            if (span.end() > span.start()) {
                out.add(piece.slice(span.start(), span.end()));
            }
        }
    }

    private List<Span> regroup(List<Span> spans) {
        return switch (this) {
            case REMOVED -> spans.stream().filter(s -> !s.match()).toList();
            case ISOLATED -> spans;
            case MERGED_WITH_PREVIOUS -> mergeWithPrevious(spans);
            case MERGED_WITH_NEXT -> mergeWithNext(spans);
            case CONTIGUOUS -> mergeContiguous(spans);
        };
    }

    private static List<Span> mergeWithPrevious(List<Span> spans) {
        List<Span> out = new ArrayList<>();
        boolean previousMatch = false;
        for (Span span : spans) {
            if (span.match() && !previousMatch && !out.isEmpty()) {
                Span last = out.removeLast();
                out.add(new Span(last.start(), span.end(), false));
            } else {
                out.add(span);
            }
            previousMatch = span.match();
        }
        return out;
    }

    private static List<Span> mergeWithNext(List<Span> spans) {
        List<Span> reversed = new ArrayList<>();
        boolean previousMatch = false;
        for (Span span : spans.reversed()) {
            if (span.match() && !previousMatch && !reversed.isEmpty()) {
                Span last = reversed.removeLast();
                reversed.add(new Span(span.start(), last.end(), false));
            } else {
                reversed.add(span);
            }
            previousMatch = span.match();
        }
        return reversed.reversed();
    }

    private static List<Span> mergeContiguous(List<Span> spans) {
        List<Span> out = new ArrayList<>();
        Boolean previousMatch = null;
        for (Span span : spans) {
            if (previousMatch != null && span.match() == previousMatch) {
                Span last = out.removeLast();
                out.add(new Span(last.start(), span.end(), span.match()));
            } else {
                out.add(span);
            }
            previousMatch = span.match();
        }
        return out;
    }
}

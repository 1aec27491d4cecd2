package io.weir.worker.sampling;

import java.util.List;

/**
 * Watches generated text for stop strings. Text that could still turn into a stop string is held back,
 * so a stream never shows a user part of a stop string that is then cut; a stop string spanning several
 * tokens is found just the same.
 */
public final class StopSequences {
    private final List<String> stops;
    private final boolean includeStop;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    public StopSequences(List<String> stops, boolean includeStop) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
        this.includeStop = includeStop;
    }

    /** Adds newly decoded text; returns the text now safe to emit. */
    public String accept(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int cut = firstStop();
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int keep = longestSuffixThatPrefixesAStop();
        String out = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return out;
    }

    /** Text held back when generation ends for another reason: it was not a stop string after all. */
    public String flush() {
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }

    public boolean stopped() {
        return stopped;
    }

    /** End index (exclusive) of the text to keep before the earliest stop string, or -1. */
    private int firstStop() {
        int best = -1;
        int bestEnd = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
                bestEnd = includeStop ? at + s.length() : at;
            }
        }
        return bestEnd;
    }

    private int longestSuffixThatPrefixesAStop() {
        int longest = 0;
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, pending.length()); len > longest; len--) {
                if (pending.toString().regionMatches(pending.length() - len, s, 0, len)) {
                    longest = len;
                    break;
                }
            }
        }
        return longest;
    }
}

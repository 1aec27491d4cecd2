package io.weir.worker.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The results table, as markdown: one row per figure, with its roofline and the percentage reached. */
final class Report {
    private final List<String> lines = new ArrayList<>();

    Report() {
        lines.add("| model | measurement | median | best | roofline | % of roofline (median / best) |");
        lines.add("|---|---|---|---|---|---|");
    }

    /** A rate with its roofline ({@code roof} <= 0: none). */
    void rate(String model, String what, Stat s, double roof, String unit) {
        String pct = roof > 0 ? String.format(Locale.ROOT, "%.0f%% / %.0f%%", 100 * s.median() / roof, 100 * s.best() / roof) : "";
        lines.add(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s |", model, what, num(s.median(), unit),
                num(s.best(), unit), roof > 0 ? num(roof, unit) : "", pct));
    }

    /** A latency line: p50 and p99 (ms). */
    void latency(String model, String what, double p50, double p99) {
        lines.add(String.format(Locale.ROOT, "| %s | %s | p50 %.2f ms | p99 %.2f ms | | |", model, what, p50, p99));
    }

    void note(String model, String what, String value) {
        lines.add(String.format(Locale.ROOT, "| %s | %s | %s | | | |", model, what, value));
    }

    private static String num(double v, String unit) {
        String n = v >= 100 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.1f", v);
        return n + (unit.isEmpty() ? "" : " " + unit);
    }

    String markdown() {
        return String.join("\n", lines) + "\n";
    }
}

package io.weir.gateway.metrics;

/**
 * Prometheus' text exposition format, version 0.0.4 (what every Prometheus scraper and vLLM's {@code /metrics} speak):
 * each metric family's {@code # HELP} and {@code # TYPE} once, then its samples, one per line, labels in the order given.
 */
public final class PrometheusText {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The metric types this exposition uses. */
    public enum Type {
        COUNTER, GAUGE, HISTOGRAM;

        String keyword() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final StringBuilder out = new StringBuilder();

    /** Starts a family; its samples follow. Counter names end in {@code _total}, as Prometheus' conventions ask. */
    public PrometheusText family(String name, Type type, String help) {
        out.append("# HELP ").append(name).append(' ').append(escapeHelp(help)).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type.keyword()).append('\n');
        return this;
    }

    /** A sample of the family started last; {@code labels} are names and values in turn: "worker", "w-1", ... */
    public PrometheusText sample(String name, double value, String... labels) {
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs");
        }
        out.append(name);
        for (int i = 0; i < labels.length; i += 2) {
            out.append(i == 0 ? "{" : ",").append(labels[i]).append("=\"").append(escapeLabel(labels[i + 1])).append('"');
        }
        if (labels.length > 0) {
            out.append('}');
        }
        return append(value);
    }

    /**
     * The samples of one histogram of a {@link Type#HISTOGRAM} family: {@code name_bucket} per upper bound (label
     * {@code le}, cumulative counts) and {@code +Inf}, then {@code name_sum} and {@code name_count}.
     */
    public PrometheusText histogram(String name, LatencyHistogram.Snapshot h, String... labels) {
        String[] withLe = java.util.Arrays.copyOf(labels, labels.length + 2);
        withLe[labels.length] = "le";
        double[] bounds = h.bounds();
        for (int i = 0; i <= bounds.length; i++) {
            withLe[labels.length + 1] = i < bounds.length ? Double.toString(bounds[i]) : "+Inf";
            sample(name + "_bucket", h.cumulative()[i], withLe);
        }
        sample(name + "_sum", h.sum(), labels);
        return sample(name + "_count", h.count(), labels);
    }

    private PrometheusText append(double value) {
        out.append(' ');
        if (Double.isNaN(value)) {
            out.append("NaN");
        } else if (Double.isInfinite(value)) {
            out.append(value > 0 ? "+Inf" : "-Inf");
        } else if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            out.append((long) value); // counts print as integers
        } else {
            out.append(value);
        }
        out.append('\n');
        return this;
    }

    static String escapeLabel(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static String escapeHelp(String help) {
        return help.replace("\\", "\\\\").replace("\n", "\\n");
    }

    @Override
    public String toString() {
        return out.toString();
    }
}

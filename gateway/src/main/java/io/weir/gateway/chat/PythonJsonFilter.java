package io.weir.gateway.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.lang.reflect.Array;
import java.util.Map;

/**
 * {@code tojson} as transformers defines it for chat templates: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent)}, so tool schemas reach the model spelled as they
 * would be under transformers ({@code {"a": 1, "b": [1, 2]}}, not Jackson's compact form).
 */
final class PythonJsonFilter implements Filter {

    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
        return dumps(value, args.length > 0 && args[0] != null ? Integer.parseInt(args[0]) : null);
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
        return dumps(value, indent == null ? null : Integer.parseInt(String.valueOf(indent)));
    }

    static String dumps(Object value, Integer indent) {
        StringBuilder out = new StringBuilder();
        write(out, value, indent, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, Integer indent, int depth) {
        switch (value) {
            case null -> out.append("null");
            case String s -> string(out, s);
            case Boolean b -> out.append(b ? "true" : "false");
            case Double d when d == Math.rint(d) && !d.isInfinite() && Math.abs(d) < 1e16 -> out.append((long) (double) d).append(".0");
            case Float f when f == Math.rint(f) && !f.isInfinite() && Math.abs(f) < 1e16 -> out.append((long) (float) f).append(".0");
            case Number n -> out.append(n);
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    separator(out, first, indent, depth + 1);
                    string(out, String.valueOf(e.getKey()));
                    out.append(": ");
                    write(out, e.getValue(), indent, depth + 1);
                    first = false;
                }
                close(out, '}', indent, depth);
            }
            case Iterable<?> items -> sequence(out, items, indent, depth);
            default -> {
                if (value.getClass().isArray()) {
                    java.util.List<Object> items = new java.util.ArrayList<>();
                    for (int i = 0; i < Array.getLength(value); i++) {
                        items.add(Array.get(value, i));
                    }
                    sequence(out, items, indent, depth);
                } else {
                    string(out, value.toString());
                }
            }
        }
    }

    private static void sequence(StringBuilder out, Iterable<?> items, Integer indent, int depth) {
        if (!items.iterator().hasNext()) {
            out.append("[]");
            return;
        }
        out.append('[');
        boolean first = true;
        for (Object item : items) {
            separator(out, first, indent, depth + 1);
            write(out, item, indent, depth + 1);
            first = false;
        }
        close(out, ']', indent, depth);
    }

    /** Python's separators: ", " inline; "," then a new indented line with indent. */
    private static void separator(StringBuilder out, boolean first, Integer indent, int depth) {
        if (!first) {
            out.append(indent == null ? ", " : ",");
        }
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
    }

    private static void close(StringBuilder out, char bracket, Integer indent, int depth) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * depth));
        }
        out.append(bracket);
    }

    /** A JSON string as json.dumps writes it with ensure_ascii=False: only quotes, backslashes and controls escaped. */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

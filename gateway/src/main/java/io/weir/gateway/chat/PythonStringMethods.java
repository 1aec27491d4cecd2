package io.weir.gateway.chat;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The Python {@code str} methods Hugging Face chat templates call ({@code content.strip()},
 * {@code role.startswith('u')}, {@code text.split('\n')}...): Jinjava only offers Java's String methods, so
 * these are resolved here first, with Python's semantics, and everything else falls through to Jinjava.
 */
final class PythonStringMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), args);
        if (result != null) {
            context.setPropertyResolved(true);
        }
        return result;
    }

    /** The method's result, or null when it is not a Python method handled here (Jinjava then tries Java's). */
    private static Object call(String s, String name, Object[] args) {
        return switch (name) {
            case "strip" -> strip(s, charsArg(args), true, true);
            case "lstrip" -> strip(s, charsArg(args), true, false);
            case "rstrip" -> strip(s, charsArg(args), false, true);
            case "startswith" -> args.length >= 1 ? anyMatch(args[0], s::startsWith) : null;
            case "endswith" -> args.length >= 1 ? anyMatch(args[0], s::endsWith) : null;
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "split" -> split(s, args.length >= 1 ? args[0] : null, args.length >= 2 ? toInt(args[1]) : -1);
            case "splitlines" -> splitLines(s);
            case "replace" -> args.length >= 2 ? replace(s, String.valueOf(args[0]), String.valueOf(args[1]), args.length >= 3 ? toInt(args[2]) : -1) : null;
            case "find" -> args.length >= 1 ? s.indexOf(String.valueOf(args[0])) : null;
            case "rfind" -> args.length >= 1 ? s.lastIndexOf(String.valueOf(args[0])) : null;
            case "count" -> args.length >= 1 ? count(s, String.valueOf(args[0])) : null;
            case "join" -> args.length == 1 ? join(s, args[0]) : null;
            case "isspace" -> !s.isEmpty() && s.isBlank();
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            default -> null;
        };
    }

    private static String charsArg(Object[] args) {
        return args.length >= 1 && args[0] != null ? String.valueOf(args[0]) : null;
    }

    /** Python's strip family: whitespace, or any of {@code chars}, from either end. */
    private static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && strippable(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && strippable(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    /** startswith/endswith take a string or a tuple (a list here) of strings. */
    private static Boolean anyMatch(Object prefixes, java.util.function.Predicate<String> test) {
        if (prefixes instanceof Collection<?> many) {
            return many.stream().anyMatch(p -> test.test(String.valueOf(p)));
        }
        return test.test(String.valueOf(prefixes));
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return out.toString();
    }

    /** Python's split: on runs of whitespace without a separator, else on the literal separator. */
    private static List<String> split(String s, Object separator, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            String rest = strip(s, null, true, false);
            while (!rest.isEmpty()) {
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(rest);
                    return parts;
                }
                int end = 0;
                while (end < rest.length() && !Character.isWhitespace(rest.charAt(end))) {
                    end++;
                }
                parts.add(rest.substring(0, end));
                rest = strip(rest.substring(end), null, true, false);
            }
            return parts;
        }
        String sep = String.valueOf(separator);
        if (sep.isEmpty()) {
            return null; // Python raises "empty separator"; let Jinjava report the call
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static List<String> splitLines(String s) {
        List<String> lines = List.of(s.split("\r\n|\r|\n", -1));
        // Python drops the empty string after a final line break (and returns [] for "").
        return lines.getLast().isEmpty() ? lines.subList(0, lines.size() - 1) : lines;
    }

    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        int at;
        int done = 0;
        while (done < count && !old.isEmpty() && (at = s.indexOf(old, from)) >= 0) {
            out.append(s, from, at).append(replacement);
            from = at + old.length();
            done++;
        }
        return out.append(s.substring(from)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String separator, Object items) {
        if (!(items instanceof Iterable<?> iterable)) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        boolean first = true;
        for (Object item : iterable) {
            if (!first) {
                out.append(separator);
            }
            out.append(item);
            first = false;
        }
        return out.toString();
    }

    private static int toInt(Object o) {
        return o instanceof Number n ? n.intValue() : Integer.parseInt(String.valueOf(o));
    }

    // Property access is left to the other resolvers.

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}

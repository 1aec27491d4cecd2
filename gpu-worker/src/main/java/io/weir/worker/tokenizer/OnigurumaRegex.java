package io.weir.worker.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles the Oniguruma regexes of tokenizer.json (the Rust library uses Oniguruma's Ruby
 * syntax) with {@link java.util.regex}. The two dialects agree on what pre-tokenizer patterns use
 * (alternation, {@code \p{L}}, {@code \p{N}}, {@code (?i:...)}, lookahead), with a few escapes
 * that mean something else in Java and are rewritten here.
 */
final class OnigurumaRegex {
    // \s, \d, \w and case folding must be Unicode-aware, as they are in Oniguruma with UTF-8.
    private static final int FLAGS = Pattern.UNICODE_CHARACTER_CLASS | Pattern.UNICODE_CASE;

    private OnigurumaRegex() {}

    static Pattern compile(String regex) {
        String translated = translate(regex);
        try {
            return Pattern.compile(translated, FLAGS);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(
                    "unsupported tokenizer component: regex " + regex + " (" + e.getDescription() + ")", e);
        }
    }

    static String translate(String regex) {
        StringBuilder out = new StringBuilder(regex.length() + 16);
        int classDepth = 0;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c != '\\' || i + 1 == regex.length()) {
                if (c == '[') {
                    classDepth++;
                } else if (c == ']' && classDepth > 0) {
                    classDepth--;
                }
                out.append(c);
                continue;
            }
            char escaped = regex.charAt(++i);
            switch (escaped) {
                // Oniguruma's \h is a hex digit; Java's is horizontal whitespace.
                case 'h' -> out.append(classDepth > 0 ? "0-9a-fA-F" : "[0-9a-fA-F]");
                case 'H' -> {
                    if (classDepth > 0) {
                        throw new IllegalArgumentException("unsupported tokenizer component: \\H inside a class in " + regex);
                    }
                    out.append("[^0-9a-fA-F]");
                }
                // Oniguruma's \v is the vertical tab only; Java's is any vertical whitespace.
                case 'v' -> out.append("\\x0B");
                case 'p', 'P' -> i = appendProperty(regex, i, escaped, out);
                default -> out.append('\\').append(escaped);
            }
        }
        return out.toString();
    }

    /** Copies {@code \p{Name}}, naming scripts the Java way ({@code \p{Han}} becomes {@code \p{IsHan}}). */
    private static int appendProperty(String regex, int letterIndex, char letter, StringBuilder out) {
        int open = letterIndex + 1;
        int close = open < regex.length() && regex.charAt(open) == '{' ? regex.indexOf('}', open) : -1;
        if (close < 0) {
            out.append('\\').append(letter);
            return letterIndex;
        }
        String name = regex.substring(open + 1, close);
        boolean negated = name.startsWith("^");
        String bare = negated ? name.substring(1) : name;
        if (negated) {
            letter = letter == 'p' ? 'P' : 'p';
        }
        String javaName = isJavaProperty(bare) ? bare : "Is" + bare;
        if (!isJavaProperty(javaName)) {
            throw new IllegalArgumentException("unsupported tokenizer component: regex property \\p{" + name + "}");
        }
        out.append('\\').append(letter).append('{').append(javaName).append('}');
        return close;
    }

    private static boolean isJavaProperty(String name) {
        try {
            Pattern.compile("\\p{" + name + "}");
            return true;
        } catch (PatternSyntaxException e) {
            return false;
        }
    }
}

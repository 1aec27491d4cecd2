package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code pattern} of Replace and Split components: {@code {"String": ...}} or {@code {"Regex": ...}}.
 *
 * @param regex   the pattern as a regex (a literal one quoted)
 * @param literal the text of a literal pattern, else null: Replace then needs no regex (it runs on every decoded
 *                token, twice per generated token in {@link IncrementalDecoder})
 */
record TextPattern(Pattern regex, String literal) {

    TextPattern(Pattern regex) {
        this(regex, null);
    }

    /** One part of a text cut by a pattern: a match, or the gap between two matches. */
    record Span(int start, int end, boolean match) {}

    static TextPattern literal(String text) {
        return new TextPattern(Pattern.compile(Pattern.quote(text)), text);
    }

    static TextPattern parse(JsonNode node) {
        if (node != null && node.hasNonNull("String")) {
            return literal(node.get("String").asText());
        }
        if (node != null && node.hasNonNull("Regex")) {
            return new TextPattern(OnigurumaRegex.compile(node.get("Regex").asText()));
        }
        throw TokenizerJson.unsupported("pattern " + node);
    }

    /** Replaces every match by {@code content}, taken literally (no group references). */
    String replaceAll(String text, String content) {
        return literal != null ? text.replace(literal, content)
                : regex.matcher(text).replaceAll(Matcher.quoteReplacement(content));
    }

    /**
     * Cuts {@code text} into matches and the gaps between them, covering all of it (empty matches
     * included, as in the Rust library, where they can still affect the merge behaviors).
     */
    List<Span> spans(String text) {
        List<Span> spans = new ArrayList<>();
        if (text.isEmpty()) {
            spans.add(new Span(0, 0, false));
            return spans;
        }
        Matcher m = regex.matcher(text);
        int previous = 0;
        while (m.find()) {
            if (m.start() != previous) {
                spans.add(new Span(previous, m.start(), false));
            }
            spans.add(new Span(m.start(), m.end(), true));
            previous = m.end();
        }
        if (previous != text.length()) {
            spans.add(new Span(previous, text.length(), false));
        }
        return spans;
    }
}

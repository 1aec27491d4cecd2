package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The {@code normalizer} of tokenizer.json: rewrites text before pre-tokenization. */
sealed interface Normalizer {

    String normalize(String text);

    /** No normalizer: the text is used as it is. */
    Normalizer NONE = new Sequence(List.of());

    record Sequence(List<Normalizer> steps) implements Normalizer {
        @Override
        public String normalize(String text) {
            for (Normalizer step : steps) {
                text = step.normalize(text);
            }
            return text;
        }
    }

    /** Legacy Llama: puts "▁" in front of every non-empty piece of text. */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String normalize(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    record Replace(TextPattern pattern, String content) implements Normalizer {
        @Override
        public String normalize(String text) {
            return pattern.replaceAll(text, content);
        }
    }

    record UnicodeForm(Form form) implements Normalizer {
        @Override
        public String normalize(String text) {
            return java.text.Normalizer.normalize(text, form);
        }
    }

    record Lowercase() implements Normalizer {
        @Override
        public String normalize(String text) {
            return text.toLowerCase(Locale.ROOT);
        }
    }

    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String text) {
            int start = 0;
            int end = text.length();
            while (left && start < end && UnicodeChars.isWhitespace(text.codePointAt(start))) {
                start += Character.charCount(text.codePointAt(start));
            }
            while (right && end > start && UnicodeChars.isWhitespace(text.codePointBefore(end))) {
                end -= Character.charCount(text.codePointBefore(end));
            }
            return text.substring(start, end);
        }
    }

    /** Maps every UTF-8 byte to its GPT-2 alphabet character. */
    record ByteLevel() implements Normalizer {
        @Override
        public String normalize(String text) {
            return ByteLevelAlphabet.encode(text);
        }
    }

    static Normalizer parse(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = TokenizerJson.type(node);
        return switch (type) {
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                node.path("normalizers").forEach(child -> steps.add(parse(child)));
                yield new Sequence(List.copyOf(steps));
            }
            case "Prepend" -> new Prepend(node.path("prepend").asText());
            case "Replace" -> new Replace(TextPattern.parse(node.get("pattern")), node.path("content").asText());
            case "NFC" -> new UnicodeForm(Form.NFC);
            case "NFD" -> new UnicodeForm(Form.NFD);
            case "NFKC" -> new UnicodeForm(Form.NFKC);
            case "NFKD" -> new UnicodeForm(Form.NFKD);
            case "Lowercase" -> new Lowercase();
            case "Strip" -> new Strip(node.path("strip_left").asBoolean(true), node.path("strip_right").asBoolean(true));
            case "ByteLevel" -> new ByteLevel();
            default -> throw TokenizerJson.unsupported("normalizer " + type);
        };
    }
}

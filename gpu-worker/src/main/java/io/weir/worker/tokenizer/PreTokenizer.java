package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.weir.worker.tokenizer.TextPattern.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntPredicate;

/** The {@code pre_tokenizer} of tokenizer.json: cuts normalized text into the words BPE sees. */
sealed interface PreTokenizer {

    /** Cuts {@code piece} and adds the resulting words to {@code out}. */
    void split(Piece piece, List<Piece> out);

    default List<Piece> preTokenize(Piece piece) {
        List<Piece> out = new ArrayList<>();
        split(piece, out);
        return out;
    }

    /** No pre-tokenizer: the whole piece is one word (legacy Llama). */
    PreTokenizer NONE = new Sequence(List.of());

    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            List<Piece> pieces = List.of(piece);
            for (PreTokenizer step : steps) {
                List<Piece> next = new ArrayList<>();
                for (Piece p : pieces) {
                    step.split(p, next);
                }
                pieces = next;
            }
            out.addAll(pieces);
        }
    }

    enum PrependScheme { ALWAYS, FIRST, NEVER }

    /** SentencePiece style: spaces become {@code replacement} ("▁"), which then starts each word. */
    record Metaspace(String replacement, PrependScheme prependScheme, boolean splitWords) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            String text = piece.text().replace(" ", replacement);
            boolean prepend = switch (prependScheme) {
                case ALWAYS -> true;
                case FIRST -> piece.atOrigin();
                case NEVER -> false;
            };
            if (prepend && !text.isEmpty() && !text.startsWith(replacement)) {
                text = replacement + text;
            }
            Piece replaced = piece.withText(text);
            if (splitWords) {
                SplitBehavior.MERGED_WITH_NEXT.split(replaced, TextPattern.literal(replacement).spans(text), out);
            } else {
                out.add(replaced);
            }
        }
    }

    /** GPT-2 style: cut with the GPT-2 regex, then map every UTF-8 byte to its alphabet character. */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        static final TextPattern GPT2_PATTERN = new TextPattern(OnigurumaRegex.compile(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"));

        @Override
        public void split(Piece piece, List<Piece> out) {
            Piece prefixed = addPrefixSpace && !piece.text().isEmpty() && !piece.text().startsWith(" ")
                    ? piece.withText(" " + piece.text())
                    : piece;
            List<Piece> words = new ArrayList<>();
            if (useRegex) {
                SplitBehavior.ISOLATED.split(prefixed, GPT2_PATTERN.spans(prefixed.text()), words);
            } else {
                words.add(prefixed);
            }
            for (Piece word : words) {
                out.add(word.withText(ByteLevelAlphabet.encode(word.text())));
            }
        }
    }

    record Split(TextPattern pattern, SplitBehavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            List<Span> spans = pattern.spans(piece.text());
            if (invert) {
                spans = spans.stream().map(s -> new Span(s.start(), s.end(), !s.match())).toList();
            }
            behavior.split(piece, spans, out);
        }
    }

    /** Separates digits from the rest, each digit alone or runs of digits together. */
    record Digits(boolean individualDigits) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            SplitBehavior behavior = individualDigits ? SplitBehavior.ISOLATED : SplitBehavior.CONTIGUOUS;
            behavior.split(piece, charSpans(piece.text(), Digits::isNumeric), out);
        }

        /** Rust's {@code char::is_numeric}: the Nd, Nl and No categories. */
        private static boolean isNumeric(int cp) {
            int type = Character.getType(cp);
            return type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                    || type == Character.OTHER_NUMBER;
        }

        /** Every character matching {@code predicate} is a one-character match, as Rust's char patterns are. */
        private static List<Span> charSpans(String text, IntPredicate predicate) {
            List<Span> spans = new ArrayList<>();
            int gapStart = 0;
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                int next = i + Character.charCount(cp);
                if (predicate.test(cp)) {
                    if (gapStart < i) {
                        spans.add(new Span(gapStart, i, false));
                    }
                    spans.add(new Span(i, next, true));
                    gapStart = next;
                }
                i = next;
            }
            if (gapStart < text.length() || spans.isEmpty()) {
                spans.add(new Span(gapStart, text.length(), false));
            }
            return spans;
        }
    }

    static PreTokenizer parse(JsonNode node) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = TokenizerJson.type(node);
        return switch (type) {
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                node.path("pretokenizers").forEach(child -> steps.add(parse(child)));
                yield new Sequence(List.copyOf(steps));
            }
            case "Metaspace" -> metaspace(node);
            case "ByteLevel" -> new ByteLevel(
                    node.path("add_prefix_space").asBoolean(true), node.path("use_regex").asBoolean(true));
            case "Split" -> new Split(
                    TextPattern.parse(node.get("pattern")),
                    SplitBehavior.parse(node.path("behavior").asText()),
                    node.path("invert").asBoolean(false));
            case "Digits" -> new Digits(node.path("individual_digits").asBoolean(false));
            default -> throw TokenizerJson.unsupported("pre_tokenizer " + type);
        };
    }

    /** A Metaspace pre-tokenizer; the Metaspace decoder has the same fields. */
    static Metaspace metaspace(JsonNode node) {
        return new Metaspace(
                node.path("replacement").asText("\u2581"), prependScheme(node), node.path("split").asBoolean(true));
    }

    /** {@code prepend_scheme}, or for files older than it, {@code add_prefix_space}. */
    private static PrependScheme prependScheme(JsonNode node) {
        if (node.hasNonNull("prepend_scheme")) {
            String scheme = node.get("prepend_scheme").asText();
            return switch (scheme.toLowerCase(Locale.ROOT)) {
                case "always" -> PrependScheme.ALWAYS;
                case "first" -> PrependScheme.FIRST;
                case "never" -> PrependScheme.NEVER;
                default -> throw TokenizerJson.unsupported("Metaspace prepend_scheme " + scheme);
            };
        }
        return node.path("add_prefix_space").asBoolean(true) ? PrependScheme.ALWAYS : PrependScheme.NEVER;
    }
}

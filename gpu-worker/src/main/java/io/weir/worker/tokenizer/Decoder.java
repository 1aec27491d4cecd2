package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code decoder} of tokenizer.json. As in the Rust library, every decoder maps a list of
 * token strings to a new list ({@code decode_chain}); the text is the concatenation of the
 * final list. This matters: Strip, for one, strips each element, so it strips only the start of
 * the whole text when it comes after Fuse.
 */
sealed interface Decoder {

    List<String> decodeChain(List<String> tokens);

    default String decode(List<String> tokens) {
        return String.join("", decodeChain(tokens));
    }

    /** No decoder: the Rust library joins the tokens with spaces. */
    record SpaceJoin() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join(" ", tokens));
        }
    }

    record Sequence(List<Decoder> steps) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder step : steps) {
                tokens = step.decodeChain(tokens);
            }
            return tokens;
        }
    }

    record Replace(TextPattern pattern, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return tokens.stream().map(t -> pattern.replaceAll(t, content)).toList();
        }
    }

    /**
     * Turns runs of {@code <0xNN>} tokens into the text their bytes spell. A run that is not
     * valid UTF-8 becomes one U+FFFD per byte, exactly like the Rust library.
     */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream pending = new ByteArrayOutputStream();
            for (String token : tokens) {
                int b = byteOf(token);
                if (b >= 0) {
                    pending.write(b);
                    continue;
                }
                flush(pending, out);
                out.add(token);
            }
            flush(pending, out);
            return out;
        }

        /** The byte of a {@code <0xNN>} token, or -1. */
        static int byteOf(String token) {
            if (token.length() != 6 || !token.startsWith("<0x") || token.charAt(5) != '>') {
                return -1;
            }
            int high = Character.digit(token.charAt(3), 16);
            int low = Character.digit(token.charAt(4), 16);
            return high < 0 || low < 0 ? -1 : high * 16 + low;
        }

        private static void flush(ByteArrayOutputStream pending, List<String> out) {
            if (pending.size() == 0) {
                return;
            }
            byte[] bytes = pending.toByteArray();
            pending.reset();
            try {
                out.add(StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes))
                        .toString());
            } catch (CharacterCodingException e) {
                for (int i = 0; i < bytes.length; i++) {
                    out.add("\uFFFD");
                }
            }
        }
    }

    /** Joins all tokens into one. */
    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters of each token. */
    record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return tokens.stream().map(this::strip).toList();
        }

        private String strip(String token) {
            int from = 0;
            for (int i = 0; i < start && from < token.length() && token.codePointAt(from) == content; i++) {
                from += Character.charCount(content);
            }
            int to = token.length();
            for (int i = 0; i < stop && to > from && token.codePointBefore(to) == content; i++) {
                to -= Character.charCount(content);
            }
            return token.substring(from, to);
        }
    }

    /** Maps GPT-2 alphabet characters back to bytes and reads them as UTF-8 (lossy). */
    record ByteLevel() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String token : tokens) {
                ByteLevelAlphabet.appendBytes(token, bytes);
            }
            return List.of(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    /** Turns "▁" back into spaces; the first token loses them when the pre-tokenizer prepended one. */
    record Metaspace(int replacement, boolean prepended) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                boolean dropReplacement = i == 0 && prepended;
                StringBuilder sb = new StringBuilder(tokens.get(i).length());
                tokens.get(i).codePoints().forEach(cp -> {
                    if (cp != replacement) {
                        sb.appendCodePoint(cp);
                    } else if (!dropReplacement) {
                        sb.append(' ');
                    }
                });
                out.add(sb.toString());
            }
            return out;
        }
    }

    static Decoder parse(JsonNode node) {
        if (node == null || node.isNull()) {
            return new SpaceJoin();
        }
        String type = TokenizerJson.type(node);
        return switch (type) {
            case "Sequence" -> {
                List<Decoder> steps = new ArrayList<>();
                node.path("decoders").forEach(child -> steps.add(parse(child)));
                yield new Sequence(List.copyOf(steps));
            }
            case "Replace" -> new Replace(TextPattern.parse(node.get("pattern")), node.path("content").asText());
            case "ByteFallback" -> new ByteFallback();
            case "Fuse" -> new Fuse();
            case "Strip" -> new Strip(
                    singleCodePoint(node, "content"), node.path("start").asInt(0), node.path("stop").asInt(0));
            case "ByteLevel" -> new ByteLevel();
            case "Metaspace" -> {
                PreTokenizer.Metaspace meta = PreTokenizer.metaspace(node);
                yield new Metaspace(
                        meta.replacement().codePointAt(0), meta.prependScheme() != PreTokenizer.PrependScheme.NEVER);
            }
            default -> throw TokenizerJson.unsupported("decoder " + type);
        };
    }

    private static int singleCodePoint(JsonNode node, String field) {
        String text = node.path(field).asText();
        if (text.codePointCount(0, text.length()) != 1) {
            throw new IllegalArgumentException(TokenizerJson.type(node) + "." + field + " must be one character: " + text);
        }
        return text.codePointAt(0);
    }
}

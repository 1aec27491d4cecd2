package io.weir.worker.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The {@code added_tokens} of tokenizer.json. Tokens with {@code normalized: false} (special
 * tokens, usually) are matched in the raw input; the others in the normalized text, in their
 * normalized form, like the Rust library's AddedVocabulary.
 */
final class AddedTokens {
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    private final Map<String, AddedToken> byContent = new HashMap<>();
    private final AddedTokenMatcher rawMatcher;
    private final AddedTokenMatcher normalizedMatcher;

    AddedTokens(List<AddedToken> tokens, Normalizer normalizer) {
        List<AddedToken> raw = new ArrayList<>();
        List<AddedToken> normalized = new ArrayList<>();
        for (AddedToken token : tokens) {
            if (token.content().isEmpty()) {
                continue;
            }
            byId.put(token.id(), token);
            byContent.putIfAbsent(token.content(), token);
            (token.normalized() ? normalized : raw).add(token);
        }
        rawMatcher = new AddedTokenMatcher(raw, raw.stream().map(AddedToken::content).toList());
        normalizedMatcher = new AddedTokenMatcher(
                normalized, normalized.stream().map(t -> normalizer.normalize(t.content())).toList());
    }

    /** Splits raw input on the tokens matched before normalization. */
    void splitRaw(Piece piece, Consumer<Piece> onText, IntConsumer onToken) {
        rawMatcher.split(piece, onText, onToken);
    }

    /** Splits normalized text on the tokens matched after normalization. */
    void splitNormalized(Piece piece, Consumer<Piece> onText, IntConsumer onToken) {
        normalizedMatcher.split(piece, onText, onToken);
    }

    AddedToken byId(int id) {
        return byId.get(id);
    }

    AddedToken byContent(String content) {
        return byContent.get(content);
    }

    boolean isSpecial(int id) {
        AddedToken token = byId.get(id);
        return token != null && token.special();
    }

    int maxId() {
        return byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
    }
}

package io.weir.worker.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Finds added tokens in text: leftmost match first, the longest one at that position (what the
 * Rust library's Aho-Corasick automaton does), over a character trie.
 */
final class AddedTokenMatcher {

    private static final class Node {
        final Map<Character, Node> children = new HashMap<>();
        AddedToken token;
    }

    private final Node root = new Node();
    private final boolean empty;

    /** {@code patterns.get(i)} is the text that stands for {@code tokens.get(i)}. */
    AddedTokenMatcher(List<AddedToken> tokens, List<String> patterns) {
        for (int i = 0; i < tokens.size(); i++) {
            Node node = root;
            for (char c : patterns.get(i).toCharArray()) {
                node = node.children.computeIfAbsent(c, k -> new Node());
            }
            if (node != root && node.token == null) {
                node.token = tokens.get(i);
            }
        }
        empty = root.children.isEmpty();
    }

    /**
     * Cuts {@code piece} at the added tokens: the text between them goes to {@code onText}
     * (non-empty slices only), the tokens' ids to {@code onToken}, in order.
     */
    void split(Piece piece, Consumer<Piece> onText, IntConsumer onToken) {
        String text = piece.text();
        if (empty) {
            if (!text.isEmpty()) {
                onText.accept(piece);
            }
            return;
        }
        int textStart = 0;
        for (int i = 0; i < text.length(); ) {
            Node node = root;
            AddedToken longest = null;
            int longestEnd = -1;
            for (int j = i; j < text.length(); j++) {
                node = node.children.get(text.charAt(j));
                if (node == null) {
                    break;
                }
                if (node.token != null) {
                    longest = node.token;
                    longestEnd = j + 1;
                }
            }
            if (longest == null || (longest.singleWord() && !standsAlone(text, i, longestEnd))) {
                i++;
                continue;
            }
            int start = longest.lstrip() ? Math.max(textStart, whitespaceStartBefore(text, i)) : i;
            int end = longest.rstrip() ? whitespaceEndAfter(text, longestEnd) : longestEnd;
            if (textStart < start) {
                onText.accept(piece.slice(textStart, start));
            }
            onToken.accept(longest.id());
            textStart = end;
            i = end;
        }
        if (textStart < text.length()) {
            onText.accept(piece.slice(textStart, text.length()));
        }
    }

    /** A single-word token must not touch word characters on either side. */
    private static boolean standsAlone(String text, int start, int end) {
        boolean wordBefore = start > 0 && UnicodeChars.isWordChar(text.codePointBefore(start));
        boolean wordAfter = end < text.length() && UnicodeChars.isWordChar(text.codePointAt(end));
        return !wordBefore && !wordAfter;
    }

    private static int whitespaceStartBefore(String text, int index) {
        while (index > 0 && UnicodeChars.isWhitespace(text.codePointBefore(index))) {
            index -= Character.charCount(text.codePointBefore(index));
        }
        return index;
    }

    private static int whitespaceEndAfter(String text, int index) {
        while (index < text.length() && UnicodeChars.isWhitespace(text.codePointAt(index))) {
            index += Character.charCount(text.codePointAt(index));
        }
        return index;
    }
}

package io.weir.worker.tokenizer;

/**
 * A slice of the input on its way through normalization and pre-tokenization.
 *
 * @param text the (possibly normalized) text of the slice
 * @param atOrigin whether the slice starts at offset 0 of the original input; the Metaspace
 *     pre-tokenizer's {@code prepend_scheme: first} only prepends to such a slice
 */
record Piece(String text, boolean atOrigin) {

    /** The sub-slice {@code [start, end)}; it keeps {@link #atOrigin} only if it starts at 0. */
    Piece slice(int start, int end) {
        return new Piece(text.substring(start, end), atOrigin && start == 0);
    }

    Piece withText(String newText) {
        return new Piece(newText, atOrigin);
    }
}

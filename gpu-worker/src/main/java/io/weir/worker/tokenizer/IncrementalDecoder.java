package io.weir.worker.tokenizer;

/**
 * Streaming detokenizer: turns generated ids, one at a time, into the text a streaming client
 * should receive. The deltas add up to {@code decode(prompt + generated)} minus
 * {@code decode(prompt)}.
 *
 * <p>Decoding a token alone is wrong for two reasons: decoders look at their neighbours (Strip
 * removes the space of "▁there" only at the start of the text; a character split into
 * {@code <0xC3><0xA9>} byte tokens is only readable once all its bytes are there). So, as vLLM
 * and TGI do, each step decodes a small window: the tokens of the previous delta
 * ({@code [prefixOffset, readOffset)}) with and without the new tokens, and emits the
 * difference. While the text ends with U+FFFD (an incomplete UTF-8 sequence) nothing is emitted
 * and the tokens wait for the next step. Each step costs a couple of decodes of a few tokens,
 * whatever the length of the sequence.
 *
 * <p>Not thread-safe: one instance per generated sequence.
 */
public final class IncrementalDecoder {
    /** Prompt tokens decoded as context before the first generated token (vLLM uses 5 too). */
    private static final int PROMPT_CONTEXT_TOKENS = 5;
    private static final char REPLACEMENT_CHARACTER = '\uFFFD';

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final IntList ids;
    /** Start of the window decoded as context. */
    private int prefixOffset;
    /** End of the tokens whose text has been emitted. */
    private int readOffset;

    IncrementalDecoder(Tokenizer tokenizer, int[] promptIds, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        this.ids = new IntList(promptIds.length + 64);
        ids.addAll(promptIds);
        this.readOffset = promptIds.length;
        this.prefixOffset = contextStart(Math.max(0, readOffset - PROMPT_CONTEXT_TOKENS), readOffset);
    }

    /**
     * Appends a generated token.
     *
     * @return the text this token makes visible; empty while it completes nothing (a partial
     *     UTF-8 sequence, a skipped special token)
     */
    public String append(int id) {
        ids.add(id);
        return emit(false);
    }

    /**
     * Returns whatever is still held back (the end of an incomplete UTF-8 sequence, shown as
     * U+FFFD as {@link Tokenizer#decode} does). Call it once the sequence is finished.
     */
    public String finish() {
        return emit(true);
    }

    private String emit(boolean flushIncomplete) {
        String prefix = tokenizer.decode(ids, prefixOffset, readOffset, skipSpecialTokens);
        String text = tokenizer.decode(ids, prefixOffset, ids.size(), skipSpecialTokens);
        if (text.length() <= prefix.length()
                || (!flushIncomplete && text.charAt(text.length() - 1) == REPLACEMENT_CHARACTER)) {
            return "";
        }
        // The new window holds a visible token: the text could not have grown otherwise.
        prefixOffset = readOffset;
        readOffset = ids.size();
        return text.substring(prefix.length());
    }

    /**
     * Where the first context window, for the prompt tokens {@code [from, to)}, starts:
     * {@code from}, moved back until the window holds a token that decodes to something. A window
     * of skipped special tokens decodes to "", and the first generated token would then be
     * decoded as if it began the text (losing the space that Strip or Metaspace remove from the
     * first token only).
     */
    private int contextStart(int from, int to) {
        int start = from;
        while (start > 0 && !hasVisibleToken(start, to)) {
            start--;
        }
        return start;
    }

    private boolean hasVisibleToken(int from, int to) {
        for (int i = from; i < to; i++) {
            if (!(skipSpecialTokens && tokenizer.isSpecial(ids.get(i)))) {
                return true;
            }
        }
        return false;
    }
}

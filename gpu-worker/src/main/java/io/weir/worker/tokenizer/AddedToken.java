package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An entry of {@code added_tokens}: text matched as a whole before normalization and BPE.
 *
 * @param singleWord only match when not inside a word
 * @param lstrip the match swallows the whitespace on its left
 * @param rstrip the match swallows the whitespace on its right
 * @param normalized matched in the normalized text (else in the raw text)
 * @param special skipped by decode when asked to skip special tokens
 */
record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                  boolean normalized, boolean special) {

    static AddedToken parse(JsonNode node) {
        boolean special = node.path("special").asBoolean(false);
        return new AddedToken(
                node.path("id").asInt(),
                node.path("content").asText(),
                node.path("single_word").asBoolean(false),
                node.path("lstrip").asBoolean(false),
                node.path("rstrip").asBoolean(false),
                node.path("normalized").asBoolean(!special),
                special);
    }
}

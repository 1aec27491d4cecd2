package io.weir.worker.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GPT-2 style (ByteLevel) BPE on the hand-written tokenizer under
 * src/test/resources/tokenizer/bytelevel-mini: the 256 byte characters are ids 0-255 (id = byte
 * value), then the merges Ġ+t=256, h+e=257, Ġt+he=258, l+l=259, H+e=260, ll+o=261, He+llo=262,
 * Ã+©=263 ("é"), t+'=264, then the added tokens.
 */
class ByteLevelBpeTest {
    private static final int ENDOFTEXT = 265;
    private static final int IM_START = 266;
    private static final int IM_END = 267;
    private static final int TOOL = 268;

    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TestModels.resourceModel("bytelevel-mini"));
    }

    @Test
    void mergesFollowRanks() {
        // "Hello" merges all the way; " the" becomes Ġthe; " world" has no merges and stays bytes.
        assertArrayEquals(new int[] {262, 258, ' ', 'w', 'o', 'r', 'l', 'd'}, tokenizer.encode("Hello the world", false));
        assertEquals("Ġthe", tokenizer.tokenPiece(258));
    }

    @Test
    void nonAsciiIsEncodedAsUtf8Bytes() {
        assertArrayEquals(new int[] {'c', 'a', 'f', 263}, tokenizer.encode("café", false));
        // 日 is E6 97 A5: three byte characters, no merges.
        assertArrayEquals(new int[] {0xE6, 0x97, 0xA5}, tokenizer.encode("日", false));
        assertEquals("æ", tokenizer.tokenPiece(0xE6));
    }

    @Test
    void gpt2RegexSplitsContractionsBeforeBpe() {
        // Without the pre-tokenizer, "t'" would merge into 264.
        assertArrayEquals(new int[] {'i', 't', '\'', 's'}, tokenizer.encode("it's", false));
    }

    @Test
    void addedSpecialTokensAreMatchedInTheText() {
        int[] ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", true);
        assertArrayEquals(new int[] {IM_START, 'u', 's', 'e', 'r', '\n', 'H', 'i', IM_END}, ids);
        assertEquals("user\nHi", tokenizer.decode(ids, true));
        assertEquals("<|im_start|>user\nHi<|im_end|>", tokenizer.decode(ids, false));
        assertTrue(tokenizer.isSpecial(IM_START));
        assertEquals("<|im_start|>", tokenizer.tokenPiece(IM_START));
    }

    @Test
    void nonSpecialAddedTokenSurvivesSkippingSpecialTokens() {
        int[] ids = tokenizer.encode("Hello[TOOL]<|endoftext|>", false);
        assertArrayEquals(new int[] {262, TOOL, ENDOFTEXT}, ids);
        assertFalse(tokenizer.isSpecial(TOOL));
        assertEquals("Hello[TOOL]", tokenizer.decode(ids, true));
    }

    @Test
    void metadataComesFromTokenizerConfig() {
        assertEquals(269, tokenizer.vocabSize());
        assertEquals(ENDOFTEXT, tokenizer.bosTokenId().orElseThrow());
        assertEquals(IM_END, tokenizer.eosTokenId().orElseThrow());
        // No template post-processor: ByteLevel adds no special tokens.
        assertArrayEquals(tokenizer.encode("Hello", false), tokenizer.encode("Hello", true));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "Hello, world! How's it going?",
        "  leading and trailing spaces  ",
        "tabs\tand\nnewlines\r\n\n",
        "naïve café, Größe, ¿Qué tal?",
        "日本語のテキスト and 中文",
        "emoji 😀🎉 and symbols ©®™ — ok",
        "numbers 3.14159 and 2024-01-02",
        "",
    })
    void roundTrips(String text) {
        int[] ids = tokenizer.encode(text, true);
        assertTrue(Arrays.stream(ids).allMatch(id -> id >= 0 && id < tokenizer.vocabSize()));
        assertEquals(text, tokenizer.decode(ids, true));
    }
}

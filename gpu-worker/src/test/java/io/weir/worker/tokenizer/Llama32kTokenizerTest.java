package io.weir.worker.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real 32000-token Llama-2 vocabulary (61,249 merges, no pre-tokenizer). */
class Llama32kTokenizerTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TestModels.sharedModel("llama2-tokenizer-32k"));
    }

    @Test
    void vocabularyAndSpecialTokens() {
        assertEquals(32000, tokenizer.vocabSize());
        assertEquals(1, tokenizer.bosTokenId().orElseThrow());
        assertEquals(2, tokenizer.eosTokenId().orElseThrow());
        assertTrue(tokenizer.isSpecial(1));
        assertEquals("<0x0A>", tokenizer.tokenPiece(13));
    }

    @Test
    void longAsciiTextRoundTrips() {
        String text = randomAsciiText(20_000, new Random(42));
        int[] ids = tokenizer.encode(text, true);
        assertEquals(1, ids[0]);
        assertTrue(ids.length < text.length() / 2, "BPE should merge: " + ids.length + " tokens");
        assertEquals(text, tokenizer.decode(ids, true));
    }

    /** Words, punctuation, digits, single and double spaces, newlines; no leading space. */
    private static String randomAsciiText(int length, Random random) {
        String[] words = {"the", "little", "girl", "named", "Lily", "loved", "to", "play", "outside", "in", "park",
                "quantum", "XYZZY", "tokenizer", "2024", "3.14", "don't", "(yes)", "a", "I"};
        String[] separators = {" ", " ", " ", ", ", ". ", "!\n", "  ", "\n\n", "\t", "; "};
        StringBuilder sb = new StringBuilder(length + 32);
        while (sb.length() < length) {
            sb.append(words[random.nextInt(words.length)]).append(separators[random.nextInt(separators.length)]);
        }
        sb.setLength(length);
        return sb.toString();
    }
}

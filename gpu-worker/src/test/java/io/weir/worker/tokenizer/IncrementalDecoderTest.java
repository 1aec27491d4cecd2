package io.weir.worker.tokenizer;

import static io.weir.worker.tokenizer.TestModels.describe;
import static io.weir.worker.tokenizer.TestModels.elements;
import static io.weir.worker.tokenizer.TestModels.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

class IncrementalDecoderTest {
    private static final String ZOE = "Zoë ate a crème brûlée";

    /** Streams {@code generated} after {@code prompt} and returns every delta. */
    private static List<String> stream(Tokenizer tokenizer, int[] prompt, int[] generated, boolean skipSpecial) {
        IncrementalDecoder decoder = tokenizer.newIncrementalDecoder(prompt, skipSpecial);
        List<String> deltas = new ArrayList<>();
        for (int id : generated) {
            deltas.add(decoder.append(id));
        }
        deltas.add(decoder.finish());
        return deltas;
    }

    /** What the deltas must add up to: decode(prompt + generated) minus decode(prompt). */
    private static String expectedCompletion(Tokenizer tokenizer, int[] prompt, int[] generated, boolean skipSpecial) {
        int[] all = IntStream.concat(Arrays.stream(prompt), Arrays.stream(generated)).toArray();
        String full = tokenizer.decode(all, skipSpecial);
        String promptText = tokenizer.decode(prompt, skipSpecial);
        assertTrue(full.startsWith(promptText), "decode(prompt) is not a prefix of decode(prompt + generated)");
        return full.substring(promptText.length());
    }

    private static void assertNoReplacementCharacter(List<String> deltas) {
        for (String delta : deltas) {
            assertFalse(delta.contains("\uFFFD"), () -> "U+FFFD streamed in " + describe(delta) + " of " + deltas);
        }
    }

    @TestFactory
    Stream<DynamicTest> goldenCompletionsOfStories260K() {
        Path dir = TestModels.sharedModel("stories260K");
        Tokenizer tokenizer = Tokenizer.load(dir);
        JsonNode golden = TestModels.readJson(dir.resolve("golden.json"));
        return elements(golden.get("cases")).map(c -> dynamicTest(describe(c.get("prompt").asText()), () -> {
            int[] prompt = ints(c.get("prompt_token_ids"));
            int[] generated = ints(c.get("greedy_token_ids"));
            List<String> deltas = stream(tokenizer, prompt, generated, true);
            assertEquals(c.get("completion_text").asText(), String.join("", deltas));
            assertNoReplacementCharacter(deltas);
        }));
    }

    @Test
    void firstTokensOfOnceUponATime() {
        Tokenizer tokenizer = Tokenizer.load(TestModels.sharedModel("stories260K"));
        IncrementalDecoder decoder = tokenizer.newIncrementalDecoder(tokenizer.encode("Once upon a time", true), true);
        assertEquals(",", decoder.append(tokenizer.tokenId(",").orElseThrow()));
        assertEquals(" there", decoder.append(tokenizer.tokenId("▁there").orElseThrow()));
    }

    @Test
    void holdsBackByteFallbackCharactersUntilComplete() {
        Path dir = TestModels.sharedModel("stories260K");
        Tokenizer tokenizer = Tokenizer.load(dir);
        JsonNode zoeCase = elements(TestModels.readJson(dir.resolve("golden.json")).get("cases"))
                .filter(c -> c.get("prompt").asText().equals(ZOE)).findFirst().orElseThrow();
        int[] ids = tokenizer.encode(ZOE, false);
        int[] bos = {tokenizer.bosTokenId().orElseThrow()};
        assertArrayEquals(ints(zoeCase.get("prompt_token_ids")),
                IntStream.concat(Arrays.stream(bos), Arrays.stream(ids)).toArray());
        // The test only means something if characters are really spelled with several byte tokens.
        assertTrue(Arrays.stream(ids).filter(id -> tokenizer.tokenPiece(id).startsWith("<0x")).count() >= 6);

        List<String> deltas = stream(tokenizer, bos, ids, true);
        assertEquals(ZOE, String.join("", deltas));
        assertNoReplacementCharacter(deltas);
        for (int i = 0; i < ids.length; i++) {
            if (tokenizer.tokenPiece(ids[i]).equals("<0xC3>")) {
                assertEquals("", deltas.get(i), "the lead byte <0xC3> alone must not be streamed");
                assertTrue(deltas.get(i + 1).matches("[ëèûé]"), deltas.get(i + 1));
            }
        }
    }

    @Test
    void flushesAnIncompleteSequenceOnlyAtTheEnd() {
        Tokenizer tokenizer = Tokenizer.load(TestModels.sharedModel("stories260K"));
        int[] prompt = tokenizer.encode("Once", true);
        IncrementalDecoder decoder = tokenizer.newIncrementalDecoder(prompt, true);
        assertEquals("", decoder.append(tokenizer.tokenId("<0xC3>").orElseThrow()));
        assertEquals("\uFFFD", decoder.finish());
        assertEquals("\uFFFD", expectedCompletion(tokenizer, prompt, new int[] {tokenizer.tokenId("<0xC3>").orElseThrow()}, true));
    }

    @Test
    void specialTokensInTheMiddleOfTheCompletion() {
        Tokenizer tokenizer = Tokenizer.load(TestModels.sharedModel("stories260K"));
        int[] prompt = tokenizer.encode("Once upon a time", true);
        int eos = tokenizer.eosTokenId().orElseThrow();
        int bos = tokenizer.bosTokenId().orElseThrow();
        int[] generated = {eos, bos, tokenizer.tokenId("▁there").orElseThrow(), eos, tokenizer.tokenId("▁a").orElseThrow()};
        for (boolean skip : new boolean[] {true, false}) {
            List<String> deltas = stream(tokenizer, prompt, generated, skip);
            assertEquals(expectedCompletion(tokenizer, prompt, generated, skip), String.join("", deltas), "skip=" + skip);
        }
        assertEquals(" there a", String.join("", stream(tokenizer, prompt, generated, true)));
        assertEquals("</s><s> there</s> a", String.join("", stream(tokenizer, prompt, generated, false)));
    }

    @Test
    void promptEndingWithSpecialTokensKeepsTheSpaceOfTheFirstWord() {
        Tokenizer tokenizer = Tokenizer.load(TestModels.sharedModel("stories260K"));
        int eos = tokenizer.eosTokenId().orElseThrow();
        int[] prompt = IntStream.concat(Arrays.stream(tokenizer.encode("Once upon a time", true)),
                IntStream.generate(() -> eos).limit(8)).toArray();
        IncrementalDecoder decoder = tokenizer.newIncrementalDecoder(prompt, true);
        assertEquals(" there", decoder.append(tokenizer.tokenId("▁there").orElseThrow()));
    }

    @Test
    void byteLevelMultiByteCharactersAreStreamedWhole() {
        Tokenizer tokenizer = Tokenizer.load(TestModels.resourceModel("bytelevel-mini"));
        String text = "日本 café 😀!";
        int[] prompt = tokenizer.encode("Hello", false);
        int[] generated = tokenizer.encode(text, false);
        List<String> deltas = stream(tokenizer, prompt, generated, true);
        assertEquals(text, String.join("", deltas));
        assertNoReplacementCharacter(deltas);
        assertTrue(deltas.contains("日"), deltas::toString);
        assertTrue(deltas.contains("😀"), deltas::toString);
    }

    @Test
    void emptyPromptStartsTheText() {
        Tokenizer tokenizer = Tokenizer.load(TestModels.sharedModel("stories260K"));
        int[] generated = tokenizer.encode("Once upon a time", false);
        List<String> deltas = stream(tokenizer, new int[0], generated, true);
        assertEquals("Once upon a time", String.join("", deltas));
        assertEquals("Once", deltas.getFirst());
    }
}

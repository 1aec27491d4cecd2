package io.weir.worker.tokenizer;

import static io.weir.worker.tokenizer.TestModels.describe;
import static io.weir.worker.tokenizer.TestModels.elements;
import static io.weir.worker.tokenizer.TestModels.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/** Every case of the tokenizer-golden.json files, produced with Hugging Face semantics. */
class TokenizerGoldenTest {

    @TestFactory
    Stream<DynamicNode> stories260K() {
        return goldenCases("stories260K");
    }

    @TestFactory
    Stream<DynamicNode> llama2Tokenizer32k() {
        return goldenCases("llama2-tokenizer-32k");
    }

    private static Stream<DynamicNode> goldenCases(String model) {
        Path dir = TestModels.sharedModel(model);
        Tokenizer tokenizer = Tokenizer.load(dir);
        JsonNode golden = TestModels.readJson(dir.resolve("tokenizer-golden.json"));
        return elements(golden.get("cases")).map(c -> {
            String text = c.get("text").asText();
            int[] ids = ints(c.get("ids"));
            return dynamicContainer(c.get("id").asText() + " " + describe(text), Stream.of(
                    dynamicTest("encode with special tokens",
                            () -> assertArrayEquals(ids, tokenizer.encode(text, true))),
                    dynamicTest("encode without special tokens",
                            () -> assertArrayEquals(ints(c.get("ids_without_bos")), tokenizer.encode(text, false))),
                    dynamicTest("token pieces", () -> assertEquals(
                            elements(c.get("tokens")).map(JsonNode::asText).toList(),
                            Arrays.stream(ids).mapToObj(tokenizer::tokenPiece).toList())),
                    dynamicTest("decode skipping special tokens",
                            () -> assertEquals(c.get("decoded").asText(), tokenizer.decode(ids, true)))));
        });
    }
}

package io.weir.worker.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/** Locates the shared test models (outside the repository) and the tokenizers under test resources. */
final class TestModels {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TestModels() {}

    /** The directory of a shared model; skips the calling test when the shared models are absent. */
    static Path sharedModel(String name) {
        return io.weir.infra.testing.TestModels.require(name);
    }

    /** A model directory under src/test/resources/tokenizer. */
    static Path resourceModel(String name) {
        try {
            return Path.of(TestModels.class.getResource("/tokenizer/" + name + "/tokenizer.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode readJson(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<JsonNode> elements(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false);
    }

    static int[] ints(JsonNode array) {
        return elements(array).mapToInt(JsonNode::asInt).toArray();
    }

    /** A readable one-line test name for a text. */
    static String describe(String text) {
        String escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        return '"' + (escaped.length() > 60 ? escaped.substring(0, 57) + "..." : escaped) + '"';
    }
}

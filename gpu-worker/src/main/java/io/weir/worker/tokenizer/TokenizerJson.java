package io.weir.worker.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The components read from a Hugging Face {@code tokenizer.json}. */
record TokenizerJson(
        BpeModel model,
        List<AddedToken> addedTokens,
        Normalizer normalizer,
        PreTokenizer preTokenizer,
        PostProcessor postProcessor,
        Decoder decoder) {

    static final ObjectMapper MAPPER = new ObjectMapper();

    static TokenizerJson read(Path file) {
        try (JsonParser parser = MAPPER.createParser(file.toFile())) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException(file + " is not a tokenizer.json: not a JSON object");
            }
            // The model is streamed; the other sections are small and read as trees.
            BpeModel model = null;
            ObjectNode sections = MAPPER.createObjectNode();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                if (field.equals("model")) {
                    model = BpeModel.read(parser);
                } else {
                    sections.set(field, MAPPER.readTree(parser));
                }
            }
            if (model == null) {
                throw new IllegalArgumentException(file + " is not a tokenizer.json: it has no \"model\"");
            }
            List<AddedToken> added = new ArrayList<>();
            sections.path("added_tokens").forEach(node -> added.add(AddedToken.parse(node)));
            return new TokenizerJson(
                    model,
                    List.copyOf(added),
                    Normalizer.parse(sections.get("normalizer")),
                    PreTokenizer.parse(sections.get("pre_tokenizer")),
                    PostProcessor.parse(sections.get("post_processor")),
                    Decoder.parse(sections.get("decoder")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** The {@code type} of a component object. */
    static String type(JsonNode component) {
        JsonNode type = component.get("type");
        if (type == null || !type.isTextual()) {
            throw new IllegalArgumentException("tokenizer component without a \"type\": " + component);
        }
        return type.asText();
    }

    /** A string field, or null when it is absent or JSON null. */
    static String textOrNull(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    static IllegalArgumentException unsupported(String what) {
        return new IllegalArgumentException("unsupported tokenizer component: " + what);
    }
}

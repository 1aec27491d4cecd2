package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * What the model directory says besides tokenizer.json: {@code tokenizer_config.json} (special
 * tokens, add_bos/add_eos) and the token ids of {@code generation_config.json} / {@code config.json}.
 *
 * @param addBosToken null when the file does not say
 * @param addEosToken null when the file does not say
 * @param bosToken the BOS token's text, or null
 * @param eosToken the EOS token's text, or null
 * @param bosTokenId BOS id from generation_config.json or config.json, or -1
 * @param eosTokenIds EOS ids from generation_config.json or config.json (a model may stop on several)
 */
record TokenizerConfig(String tokenizerClass, Boolean addBosToken, Boolean addEosToken,
                       String bosToken, String eosToken, int bosTokenId, int[] eosTokenIds) {

    /**
     * The transformers classes that rebuild the post-processor from add_bos_token/add_eos_token
     * ({@code update_post_processor}), instead of using the one in tokenizer.json.
     */
    private static final Set<String> TEMPLATE_FROM_FLAGS = Set.of(
            "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
            "GemmaTokenizer", "GemmaTokenizerFast");

    static TokenizerConfig read(Path modelDir) {
        JsonNode tokenizerConfig = readIfPresent(modelDir.resolve("tokenizer_config.json"));
        JsonNode generation = readIfPresent(modelDir.resolve("generation_config.json"));
        JsonNode model = readIfPresent(modelDir.resolve("config.json"));
        JsonNode idSource = generation.has("eos_token_id") || generation.has("bos_token_id") ? generation : model;
        JsonNode eos = idSource.path("eos_token_id");
        int[] eosIds = eos.isArray() ? intArray(eos) : eos.isInt() ? new int[] {eos.asInt()} : new int[0];
        return new TokenizerConfig(
                TokenizerJson.textOrNull(tokenizerConfig, "tokenizer_class"),
                booleanOrNull(tokenizerConfig, "add_bos_token"),
                booleanOrNull(tokenizerConfig, "add_eos_token"),
                tokenText(tokenizerConfig.get("bos_token")),
                tokenText(tokenizerConfig.get("eos_token")),
                idSource.path("bos_token_id").asInt(-1),
                eosIds);
    }

    /** Whether add_bos_token/add_eos_token decide the post-processor (transformers' Llama behaviour). */
    boolean templateFromFlags() {
        return tokenizerClass != null && TEMPLATE_FROM_FLAGS.contains(tokenizerClass)
                && (addBosToken != null || addEosToken != null);
    }

    /** A special token is written either as a string or as {@code {"content": ...}}. */
    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        return node.isObject() ? TokenizerJson.textOrNull(node, "content") : node.asText();
    }

    private static Boolean booleanOrNull(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || !value.isBoolean() ? null : value.asBoolean();
    }

    private static int[] intArray(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }

    static JsonNode readIfPresent(Path file) {
        if (!Files.isRegularFile(file)) {
            return TokenizerJson.MAPPER.createObjectNode();
        }
        try {
            return TokenizerJson.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}

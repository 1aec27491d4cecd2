package io.weir.worker.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A checkpoint's chat template and the special-token texts templates refer to ({@code bos_token},
 * {@code eos_token}), found where transformers looks: {@code chat_template.jinja}, else
 * {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of {name, template} of which
 * "default" is used), else {@code chat_template.json}. Workers publish it in the registry so gateways can
 * render chat prompts without the checkpoint files.
 *
 * @param template the Jinja template, or null when the checkpoint has none
 * @param bosToken BOS token text, or null
 * @param eosToken EOS token text, or null
 */
public record CheckpointChatTemplate(String template, String bosToken, String eosToken) {

    public static CheckpointChatTemplate read(Path modelDir) {
        TokenizerConfig tokens = TokenizerConfig.read(modelDir);
        return new CheckpointChatTemplate(findTemplate(modelDir), tokens.bosToken(), tokens.eosToken());
    }

    private static String findTemplate(Path modelDir) {
        Path jinja = modelDir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                return Files.readString(jinja);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + jinja, e);
            }
        }
        String fromConfig = templateIn(TokenizerConfig.readIfPresent(modelDir.resolve("tokenizer_config.json")).get("chat_template"));
        if (fromConfig != null) {
            return fromConfig;
        }
        return templateIn(TokenizerConfig.readIfPresent(modelDir.resolve("chat_template.json")).get("chat_template"));
    }

    /** A template field: a string, or named templates of which "default" is the chat one. */
    private static String templateIn(JsonNode field) {
        if (field == null || field.isNull()) {
            return null;
        }
        if (field.isTextual()) {
            return field.textValue();
        }
        if (field.isArray()) {
            for (JsonNode named : field) {
                if ("default".equals(named.path("name").asText(null)) && named.path("template").isTextual()) {
                    return named.get("template").textValue();
                }
            }
        }
        return null;
    }
}

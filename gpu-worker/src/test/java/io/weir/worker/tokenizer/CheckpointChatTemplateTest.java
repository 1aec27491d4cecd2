package io.weir.worker.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Where a checkpoint keeps its chat template, in transformers' order of precedence. */
class CheckpointChatTemplateTest {

    @Test
    void stories260KHasNoTemplateButNamesItsSpecialTokens() {
        CheckpointChatTemplate chat = CheckpointChatTemplate.read(TestModels.sharedModel("stories260K"));
        assertNull(chat.template());
        assertEquals("<s>", chat.bosToken());
        assertEquals("</s>", chat.eosToken());
    }

    @Test
    void templateAsAStringInTokenizerConfig(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<|begin|>"}, "eos_token": "<|end|>",
                 "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}""");
        CheckpointChatTemplate chat = CheckpointChatTemplate.read(dir);
        assertEquals("{% for m in messages %}{{ m['content'] }}{% endfor %}", chat.template());
        assertEquals("<|begin|>", chat.bosToken());
        assertEquals("<|end|>", chat.eosToken());
    }

    @Test
    void namedTemplatesUseTheDefaultOne(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain"}]}""");
        assertEquals("plain", CheckpointChatTemplate.read(dir).template());
    }

    @Test
    void aChatTemplateJinjaFileWinsThenChatTemplateJsonIsTheFallback(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("chat_template.json"), "{\"chat_template\": \"from json\"}");
        assertEquals("from json", CheckpointChatTemplate.read(dir).template());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"from config\"}");
        assertEquals("from config", CheckpointChatTemplate.read(dir).template());
        Files.writeString(dir.resolve("chat_template.jinja"), "from jinja\n");
        assertEquals("from jinja\n", CheckpointChatTemplate.read(dir).template());
    }
}

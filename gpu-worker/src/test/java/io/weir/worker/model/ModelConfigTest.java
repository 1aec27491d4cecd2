package io.weir.worker.model;

import io.weir.infra.testing.TestModels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class ModelConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void stories260K() throws Exception {
        ModelConfig c = ModelConfig.load(TestModels.require("stories260K"));
        assertEquals(new ModelConfig(64, 172, 5, 8, 4, 8, 512, 512, 1e-5f, 10000f, true, 1, new int[] {2}), c);
        assertEquals(64, c.qDim());
        assertEquals(32, c.kvDim());
        assertTrue(c.isEos(2));
    }

    @Test
    void defaultsAndEosLists() throws Exception {
        JsonNode config = json("""
                {"architectures":["MistralForCausalLM"],"model_type":"mistral","hidden_size":128,"intermediate_size":256,
                 "num_hidden_layers":2,"num_attention_heads":4,"vocab_size":1000,"max_position_embeddings":2048,
                 "eos_token_id":2,"bos_token_id":1,"sliding_window":null}""");
        ModelConfig c = ModelConfig.fromJson(config, json("{\"eos_token_id\":[128001,128008,128009]}"));
        assertEquals(4, c.nKvHeads());      // default: MHA
        assertEquals(32, c.headDim());      // default: dim / heads
        assertEquals(1e-6f, c.rmsEps());    // HF LlamaConfig default
        assertEquals(10000f, c.ropeTheta());
        assertEquals(false, c.tiedEmbeddings());
        assertEquals(1, c.bosTokenId());    // from config.json: the generation config lacks it
        assertArrayEquals(new int[] {128001, 128008, 128009}, c.eosTokenIds()); // generation config wins
        assertArrayEquals(new int[] {2}, ModelConfig.fromJson(config, null).eosTokenIds());
    }

    @Test
    void rejectsWhatTheKernelsCannotRun() throws Exception {
        String base = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":1,\"num_attention_heads\":4,"
                + "\"vocab_size\":300,\"max_position_embeddings\":64";
        for (String[] c : new String[][] {
                {"{\"model_type\":\"gpt2\"," + base + "}", "unsupported model_type 'gpt2'"},
                {"{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\"," + base + "}", "unsupported architecture Qwen2ForCausalLM"},
                {"{\"model_type\":\"llama\",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2}," + base + "}", "unsupported rope_scaling"},
                {"{\"model_type\":\"llama\",\"hidden_act\":\"gelu\"," + base + "}", "unsupported hidden_act gelu"},
                {"{\"model_type\":\"llama\",\"attention_bias\":true," + base + "}", "attention_bias"},
                {"{\"model_type\":\"mistral\",\"sliding_window\":16," + base + "}", "sliding_window"},
                {"{\"model_type\":\"llama\",\"num_key_value_heads\":3," + base + "}", "not a multiple"},
                {"{\"model_type\":\"llama\",\"hidden_size\":64,\"num_attention_heads\":4}", "missing or non-integer intermediate_size"},
        }) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> ModelConfig.fromJson(json(c[0]), null), c[0]);
            assertTrue(e.getMessage().contains(c[1]), "expected '" + c[1] + "' in: " + e.getMessage());
        }
    }
}

package io.weir.worker.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weir.worker.kernels.Backend;
import io.weir.worker.kernels.DType;
import io.weir.worker.kernels.KernelLibrary;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RandomCheckpointTest {
    @TempDir
    Path tmp;

    private static void assertFinite(float[] logits) {
        for (float l : logits) assertTrue(Float.isFinite(l), "non-finite logit " + l);
    }

    @Test
    void loadsAndRuns() throws Exception {
        RandomCheckpoint.Spec spec = RandomCheckpoint.Spec.tiny(7);
        Path dir = RandomCheckpoint.write(tmp.resolve("tiny"), spec);
        try (ModelRunner r = ModelRunner.load(dir, 2, KernelLibrary.load(Backend.CPU))) {
            ModelConfig c = r.config();
            assertEquals(64, c.dim());
            assertEquals(2, c.nLayers());
            assertEquals(4, c.nKvHeads());
            assertEquals(320, c.vocabSize());
            assertFalse(c.tiedEmbeddings());
            assertEquals(1, c.bosTokenId());
            assertArrayEquals(new int[] {2}, c.eosTokenIds());
            float[] logits = new float[c.vocabSize()];
            r.forward(0, new int[] {1, 100, 200, 300}, 0, logits);
            assertFinite(logits);
            int[] out = Golden.greedy(r, 1, new int[] {1, 5, 6}, 20, null);
            for (int t : out) assertTrue(t >= 0 && t < c.vocabSize());
        }
    }

    @Test
    void tiedAndLowPrecisionVariantsLoad() throws Exception {
        for (DType d : DType.values()) {
            RandomCheckpoint.Spec spec = new RandomCheckpoint.Spec(32, 96, 1, 4, 2, 300, 64, true, d, 3);
            Path dir = RandomCheckpoint.write(tmp.resolve("tied-" + d), spec);
            try (Checkpoint ckpt = Checkpoint.open(dir)) {
                assertFalse(ckpt.contains("lm_head.weight"));
                assertEquals(d, ckpt.tensor("model.norm.weight").dtype());
            }
            try (ModelRunner r = ModelRunner.load(dir, 1, KernelLibrary.load(Backend.CPU))) {
                assertTrue(r.config().tiedEmbeddings());
                float[] logits = new float[300];
                r.forward(0, new int[] {1, 2, 3}, 0, logits);
                assertFinite(logits);
            }
        }
    }

    @Test
    void sameSeedSameBytes() throws Exception {
        RandomCheckpoint.Spec spec = RandomCheckpoint.Spec.tiny(42);
        Path a = RandomCheckpoint.write(tmp.resolve("a"), spec);
        Path b = RandomCheckpoint.write(tmp.resolve("b"), spec);
        Path c = RandomCheckpoint.write(tmp.resolve("c"), spec.withSeed(43));
        for (String f : new String[] {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"})
            assertEquals(-1L, Files.mismatch(a.resolve(f), b.resolve(f)), f + " differs for the same seed");
        assertTrue(Files.mismatch(a.resolve("model.safetensors"), c.resolve("model.safetensors")) >= 0,
                "different seeds gave identical weights");
    }

    @Test
    void weightsHaveTheRequestedScale() throws Exception {
        Path dir = RandomCheckpoint.write(tmp.resolve("s"), RandomCheckpoint.Spec.tiny(1));
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            float[] w = ckpt.tensor("model.layers.0.mlp.gate_proj.weight", 172, 64).toFloatArray();
            double sum = 0, sq = 0;
            for (float v : w) {
                sum += v;
                sq += v * v;
            }
            double mean = sum / w.length, std = Math.sqrt(sq / w.length - mean * mean);
            assertEquals(0, mean, 0.002);
            assertEquals(0.02, std, 0.001);
            float[] norm = ckpt.tensor("model.layers.0.input_layernorm.weight", 64).toFloatArray();
            for (float v : norm) assertEquals(1.0, v, 0.1);
        }
    }

    @Test
    void generatedTokenizerLoadsAndRoundTripsAnyText() throws Exception {
        Path dir = RandomCheckpoint.write(tmp.resolve("tok"), RandomCheckpoint.Spec.tiny(1));
        io.weir.worker.tokenizer.Tokenizer tok = io.weir.worker.tokenizer.Tokenizer.load(dir);
        assertEquals(RandomCheckpoint.Spec.tiny(1).vocabSize(), tok.vocabSize());
        for (String text : new String[]{"Hello, world!", "Zoë ate a crème brûlée 🍰", "  two  spaces\nand a newline"}) {
            int[] ids = tok.encode(text, true);
            assertEquals(1, ids[0], "BOS first");
            assertEquals(text, tok.decode(ids, true));
        }
    }

    @Test
    void tokenizerFilesFollowTheStoriesLayout() throws Exception {
        Path dir = RandomCheckpoint.write(tmp.resolve("t"), RandomCheckpoint.Spec.tiny(1));
        ObjectMapper json = new ObjectMapper();
        JsonNode tok = json.readTree(dir.resolve("tokenizer.json").toFile());
        JsonNode vocab = tok.at("/model/vocab");
        assertEquals(320, vocab.size());
        assertEquals(0, vocab.get("<unk>").asInt());
        assertEquals(1, vocab.get("<s>").asInt());
        assertEquals(2, vocab.get("</s>").asInt());
        assertEquals(3, vocab.get("<0x00>").asInt());
        assertEquals(258, vocab.get("<0xFF>").asInt());
        assertEquals(259, vocab.get("\u2581").asInt());
        assertTrue(tok.at("/model/byte_fallback").asBoolean());
        assertEquals(0, tok.at("/model/merges").size());
        assertEquals("Prepend", tok.at("/normalizer/normalizers/0/type").asText());
        assertEquals("Strip", tok.at("/decoder/decoders/3/type").asText());
        assertEquals(3, tok.get("added_tokens").size());

        // same top-level and decoder shape as the real stories260K tokenizer, when it is available
        Path stories = Path.of(System.getProperty("weir.shared.models", "../shared/models"), "stories260K", "tokenizer.json");
        if (Files.isRegularFile(stories)) {
            JsonNode real = json.readTree(stories.toFile());
            assertEquals(iter(real.fieldNames()), iter(tok.fieldNames()));
            assertEquals(real.get("normalizer"), tok.get("normalizer"));
            assertEquals(real.get("decoder"), tok.get("decoder"));
            assertEquals(real.get("post_processor"), tok.get("post_processor"));
            assertEquals(real.get("added_tokens"), tok.get("added_tokens"));
            assertEquals(iter(real.get("model").fieldNames()), iter(tok.get("model").fieldNames()));
        }
        JsonNode tc = json.readTree(dir.resolve("tokenizer_config.json").toFile());
        assertTrue(tc.get("add_bos_token").asBoolean());
        assertEquals(256, tc.get("model_max_length").asInt());
    }

    private static java.util.List<String> iter(java.util.Iterator<String> it) {
        java.util.List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}

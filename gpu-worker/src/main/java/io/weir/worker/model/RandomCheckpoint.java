package io.weir.worker.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.weir.worker.kernels.DType;
import io.weir.worker.kernels.KernelConfig;
import io.weir.worker.kernels.WeightTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a complete random-weight Hugging Face Llama checkpoint directory: {@code config.json},
 * {@code generation_config.json}, {@code model.safetensors}, {@code tokenizer.json},
 * {@code tokenizer_config.json}, {@code special_tokens_map.json}. Used for the demo model and for
 * benchmarks of a given shape; its text is gibberish.
 *
 * <p>Deterministic: the same {@link Spec} gives byte-identical files. Each tensor draws from its own
 * {@link SplittableRandom} seeded from (seed, tensor name), so one tensor's values do not depend on
 * the others. Linear weights are N(0, 0.02); norm weights are 1 + N(0, 0.02).
 */
public final class RandomCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final double STD = 0.02;

    private RandomCheckpoint() {}

    /**
     * The shape of a random checkpoint. {@code head_dim} is {@code dim / nHeads}.
     *
     * @param vocabSize at least 259 (3 special tokens + 256 byte tokens)
     */
    public record Spec(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int maxSeqLen,
                       boolean tiedEmbeddings, DType dtype, long seed) {
        public Spec {
            if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || maxSeqLen <= 0)
                throw new IllegalArgumentException("sizes must be positive");
            if (dim % nHeads != 0 || nHeads % nKvHeads != 0 || (dim / nHeads) % 2 != 0)
                throw new IllegalArgumentException("need dim % nHeads == 0, nHeads % nKvHeads == 0 and an even head_dim");
            if (vocabSize < ByteFallbackTokenizer.SPECIAL_AND_BYTES)
                throw new IllegalArgumentException("vocabSize " + vocabSize + " < " + ByteFallbackTokenizer.SPECIAL_AND_BYTES);
            if (dtype == null) throw new IllegalArgumentException("dtype is null");
        }

        /** A small model for tests: dim 64, 2 layers, GQA 8/4, vocab 320, 256 positions, untied, F32. */
        public static Spec tiny(long seed) {
            return new Spec(64, 172, 2, 8, 4, 320, 256, false, DType.F32, seed);
        }

        /** The shape of Karpathy's stories15M (dim 288, 6 layers, 6 heads, vocab 32000, 256 positions), tied, F32. */
        public static Spec stories15M(long seed) {
            return new Spec(288, 768, 6, 6, 6, 32000, 256, true, DType.F32, seed);
        }

        /** The shape of Karpathy's stories110M (dim 768, 12 layers, 12 heads, vocab 32000, 1024 positions), tied, F32. */
        public static Spec stories110M(long seed) {
            return new Spec(768, 2048, 12, 12, 12, 32000, 1024, true, DType.F32, seed);
        }

        /** Weights in the checkpoint (the embedding table once when tied). */
        public long parameterCount() {
            long d = dim, h = hiddenDim, kv = (long) nKvHeads * headDim();
            long perLayer = 2 * d + d * d + 2 * kv * d + d * d + 3 * d * h;
            return nLayers * perLayer + d + (long) vocabSize * d * (tiedEmbeddings ? 1 : 2);
        }

        public int headDim() {
            return dim / nHeads;
        }

        public Spec withDtype(DType d) {
            return new Spec(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, tiedEmbeddings, d, seed);
        }

        public Spec withSeed(long s) {
            return new Spec(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, tiedEmbeddings, dtype, s);
        }

        KernelConfig kernelConfig() {
            return new KernelConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim(), vocabSize, maxSeqLen, 1e-5f,
                    10000f, tiedEmbeddings);
        }
    }

    /** Writes the checkpoint into {@code dir} (created if needed; existing files are replaced). Returns {@code dir}. */
    public static Path write(Path dir, Spec spec) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("config.json").toFile(), config(spec));
        JSON.writeValue(dir.resolve("generation_config.json").toFile(),
                JSON.createObjectNode().put("bos_token_id", 1).put("eos_token_id", 2));
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), ByteFallbackTokenizer.tokenizerJson(JSON, spec.vocabSize()));
        JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(),
                ByteFallbackTokenizer.tokenizerConfig(JSON, spec.maxSeqLen()));
        JSON.writeValue(dir.resolve("special_tokens_map.json").toFile(), ByteFallbackTokenizer.specialTokensMap(JSON));
        weights(spec).write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static ObjectNode config(Spec s) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama");
        c.put("hidden_size", s.dim());
        c.put("intermediate_size", s.hiddenDim());
        c.put("num_hidden_layers", s.nLayers());
        c.put("num_attention_heads", s.nHeads());
        c.put("num_key_value_heads", s.nKvHeads());
        c.put("head_dim", s.headDim());
        c.put("vocab_size", s.vocabSize());
        c.put("max_position_embeddings", s.maxSeqLen());
        c.put("rms_norm_eps", 1e-5);
        c.put("rope_theta", 10000.0);
        c.putNull("rope_scaling");
        c.put("hidden_act", "silu");
        c.put("attention_bias", false);
        c.put("mlp_bias", false);
        c.put("initializer_range", STD);
        c.put("tie_word_embeddings", s.tiedEmbeddings());
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        c.put("torch_dtype", switch (s.dtype()) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
        });
        c.put("weir_random_seed", s.seed());
        return c;
    }

    private static SafetensorsWriter weights(Spec s) {
        KernelConfig kc = s.kernelConfig();
        SafetensorsWriter w = new SafetensorsWriter().metadata("weir", "random checkpoint, seed " + s.seed());
        for (WeightTensor t : WeightTensor.values()) {
            if (t == WeightTensor.LM_HEAD && s.tiedEmbeddings()) continue;
            for (int layer = t.perLayer() ? 0 : -1; layer < (t.perLayer() ? s.nLayers() : 0); layer++) {
                String name = HfLlamaNames.of(t, layer);
                boolean norm = t == WeightTensor.ATTN_NORM || t == WeightTensor.FFN_NORM || t == WeightTensor.FINAL_NORM;
                SplittableRandom rng = new SplittableRandom(s.seed() * 0x9E3779B97F4A7C15L + name.hashCode());
                w.add(name, s.dtype(), t.shape(kc), i -> (float) ((norm ? 1.0 : 0.0) + STD * rng.nextGaussian()));
            }
        }
        return w;
    }
}

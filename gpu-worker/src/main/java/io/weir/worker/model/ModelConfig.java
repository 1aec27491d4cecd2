package io.weir.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weir.worker.kernels.KernelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * Hyper-parameters of a Llama-architecture checkpoint, from Hugging Face {@code config.json}
 * (+ {@code generation_config.json}, which wins for bos/eos).
 *
 * @param dim            hidden_size
 * @param hiddenDim      intermediate_size
 * @param nLayers        num_hidden_layers
 * @param nHeads         num_attention_heads
 * @param nKvHeads       num_key_value_heads (default nHeads)
 * @param headDim        head_dim (default dim / nHeads)
 * @param vocabSize      vocab_size
 * @param maxSeqLen      max_position_embeddings
 * @param rmsEps         rms_norm_eps (default 1e-6)
 * @param ropeTheta      rope_theta (default 10000)
 * @param tiedEmbeddings tie_word_embeddings (default false): the LM head is the embedding table
 * @param bosTokenId     bos_token_id, -1 if none
 * @param eosTokenIds    eos_token_id (an int or a list in either file), empty if none
 */
public record ModelConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int headDim, int vocabSize,
                          int maxSeqLen, float rmsEps, float ropeTheta, boolean tiedEmbeddings, int bosTokenId,
                          int[] eosTokenIds) {

    private static final Set<String> ARCHITECTURES = Set.of("LlamaForCausalLM", "MistralForCausalLM");
    private static final Set<String> MODEL_TYPES = Set.of("llama", "mistral");
    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelConfig {
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || headDim <= 0 || vocabSize <= 0
                || maxSeqLen <= 0)
            throw new CheckpointException("config: sizes must be positive: " + describe(dim, hiddenDim, nLayers, nHeads,
                    nKvHeads, headDim, vocabSize, maxSeqLen));
        if (nHeads % nKvHeads != 0)
            throw new CheckpointException("config: num_attention_heads " + nHeads + " is not a multiple of num_key_value_heads "
                    + nKvHeads);
        if (headDim % 2 != 0) throw new CheckpointException("config: head_dim " + headDim + " must be even (RoPE)");
        if (!(rmsEps > 0) || !(ropeTheta > 0))
            throw new CheckpointException("config: rms_norm_eps and rope_theta must be positive");
        eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
    }

    /** Reads {@code dir/config.json} and, if present, {@code dir/generation_config.json}. */
    public static ModelConfig load(Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new CheckpointException("no config.json in " + dir);
        Path gen = dir.resolve("generation_config.json");
        try {
            return fromJson(JSON.readTree(config.toFile()), Files.isRegularFile(gen) ? JSON.readTree(gen.toFile()) : null);
        } catch (CheckpointException e) {
            throw new CheckpointException(e.getMessage() + " (" + config + ")", e);
        }
    }

    /**
     * Parses a config.json tree (and an optional generation_config.json tree).
     *
     * @throws CheckpointException for unsupported architectures, rope_scaling, activations or biases,
     *     and for missing or invalid fields
     */
    public static ModelConfig fromJson(JsonNode config, JsonNode generationConfig) {
        checkArchitecture(config);
        int dim = requiredInt(config, "hidden_size");
        int nHeads = requiredInt(config, "num_attention_heads");
        JsonNode hd = config.get("head_dim");
        int[] bos = tokenIds(generationConfig, config, "bos_token_id");
        return new ModelConfig(
                dim,
                requiredInt(config, "intermediate_size"),
                requiredInt(config, "num_hidden_layers"),
                nHeads,
                optionalInt(config, "num_key_value_heads", nHeads),
                hd == null || hd.isNull() ? dim / nHeads : hd.asInt(),
                requiredInt(config, "vocab_size"),
                requiredInt(config, "max_position_embeddings"),
                (float) optionalDouble(config, "rms_norm_eps", 1e-6),
                (float) optionalDouble(config, "rope_theta", 10000.0),
                config.path("tie_word_embeddings").asBoolean(false),
                bos.length > 0 ? bos[0] : -1,
                tokenIds(generationConfig, config, "eos_token_id"));
    }

    /** n_heads * head_dim */
    public int qDim() {
        return nHeads * headDim;
    }

    /** n_kv_heads * head_dim */
    public int kvDim() {
        return nKvHeads * headDim;
    }

    /** True if {@code token} is one of the eos ids. */
    public boolean isEos(int token) {
        for (int e : eosTokenIds) if (e == token) return true;
        return false;
    }

    /** The kernel library's view, with a KV cache of {@code kvSeqLen} positions per slot. */
    public KernelConfig toKernelConfig(int kvSeqLen) {
        return new KernelConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize, kvSeqLen, rmsEps, ropeTheta,
                tiedEmbeddings);
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig c && dim == c.dim && hiddenDim == c.hiddenDim && nLayers == c.nLayers
                && nHeads == c.nHeads && nKvHeads == c.nKvHeads && headDim == c.headDim && vocabSize == c.vocabSize
                && maxSeqLen == c.maxSeqLen && Float.compare(rmsEps, c.rmsEps) == 0
                && Float.compare(ropeTheta, c.ropeTheta) == 0 && tiedEmbeddings == c.tiedEmbeddings
                && bosTokenId == c.bosTokenId && Arrays.equals(eosTokenIds, c.eosTokenIds);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Objects.hash(dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize, maxSeqLen, rmsEps,
                ropeTheta, tiedEmbeddings, bosTokenId) + Arrays.hashCode(eosTokenIds);
    }

    @Override
    public String toString() {
        return "ModelConfig[" + describe(dim, hiddenDim, nLayers, nHeads, nKvHeads, headDim, vocabSize, maxSeqLen)
                + ", rmsEps=" + rmsEps + ", ropeTheta=" + ropeTheta + ", tiedEmbeddings=" + tiedEmbeddings + ", bos="
                + bosTokenId + ", eos=" + Arrays.toString(eosTokenIds) + "]";
    }

    // ------------------------------------------------------------------------------------------------

    private static void checkArchitecture(JsonNode config) {
        JsonNode archs = config.path("architectures");
        String modelType = config.path("model_type").asText("");
        boolean known = MODEL_TYPES.contains(modelType);
        if (archs.isArray() && !archs.isEmpty()) {
            for (JsonNode a : archs)
                if (!ARCHITECTURES.contains(a.asText()))
                    throw new CheckpointException("unsupported architecture " + a.asText() + " (supported: "
                            + String.join(", ", ARCHITECTURES.stream().sorted().toList()) + ")");
            known = true;
        }
        if (!known)
            throw new CheckpointException("unsupported model_type '" + modelType + "' (supported: llama, mistral)");
        JsonNode scaling = config.get("rope_scaling");
        if (scaling != null && !scaling.isNull())
            throw new CheckpointException("unsupported rope_scaling " + scaling + " (only plain RoPE, rope_scaling null)");
        String act = config.path("hidden_act").asText("silu");
        if (!act.equals("silu")) throw new CheckpointException("unsupported hidden_act " + act + " (only silu)");
        if (config.path("attention_bias").asBoolean(false) || config.path("mlp_bias").asBoolean(false))
            throw new CheckpointException("unsupported attention_bias/mlp_bias = true (no bias terms)");
        JsonNode window = config.get("sliding_window");
        if (window != null && !window.isNull()
                && window.asLong() < config.path("max_position_embeddings").asLong(Long.MAX_VALUE))
            throw new CheckpointException("unsupported sliding_window " + window + " (sliding-window attention)");
    }

    private static int requiredInt(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToInt()) throw new CheckpointException("config: missing or non-integer " + field);
        return v.asInt();
    }

    private static int optionalInt(JsonNode n, String field, int dflt) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? dflt : v.asInt();
    }

    private static double optionalDouble(JsonNode n, String field, double dflt) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? dflt : v.asDouble();
    }

    /** Token ids of {@code field}, an int or a list: from the generation config if it has it, else config.json. */
    private static int[] tokenIds(JsonNode generationConfig, JsonNode config, String field) {
        JsonNode v = generationConfig == null ? null : generationConfig.get(field);
        if (v == null || v.isNull()) v = config.get(field);
        if (v == null || v.isNull()) return new int[0];
        if (v.isArray()) {
            int[] ids = new int[v.size()];
            for (int i = 0; i < ids.length; i++) ids[i] = v.get(i).asInt();
            return ids;
        }
        return new int[] {v.asInt()};
    }

    private static String describe(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int headDim, int vocabSize,
            int maxSeqLen) {
        return "dim=" + dim + ", hiddenDim=" + hiddenDim + ", nLayers=" + nLayers + ", nHeads=" + nHeads + ", nKvHeads="
                + nKvHeads + ", headDim=" + headDim + ", vocabSize=" + vocabSize + ", maxSeqLen=" + maxSeqLen;
    }
}

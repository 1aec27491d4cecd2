package io.weir.worker.model;

import io.weir.worker.kernels.WeightTensor;

/** Hugging Face Llama tensor names ({@code LlamaForCausalLM} state dict) for each kernel weight. */
public final class HfLlamaNames {
    private HfLlamaNames() {}

    /** The safetensors name of {@code t} ({@code layer} is ignored for global tensors). */
    public static String of(WeightTensor t, int layer) {
        String p = "model.layers." + layer + ".";
        return switch (t) {
            case TOK_EMBEDDINGS -> "model.embed_tokens.weight";
            case ATTN_NORM -> p + "input_layernorm.weight";
            case WQ -> p + "self_attn.q_proj.weight";
            case WK -> p + "self_attn.k_proj.weight";
            case WV -> p + "self_attn.v_proj.weight";
            case WO -> p + "self_attn.o_proj.weight";
            case FFN_NORM -> p + "post_attention_layernorm.weight";
            case W_GATE -> p + "mlp.gate_proj.weight";
            case W_UP -> p + "mlp.up_proj.weight";
            case W_DOWN -> p + "mlp.down_proj.weight";
            case FINAL_NORM -> "model.norm.weight";
            case LM_HEAD -> "lm_head.weight";
        };
    }
}

package io.nashswarm.format;

import io.nashswarm.format.Fixtures.Written;
import io.nashswarm.format.safetensors.SafetensorsDtype;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.nashswarm.format.Fixtures.tensor;

/** Tiny Hugging Face checkpoints with the real tensor names and layouts, written by hand. */
final class HfCheckpoints {
    private HfCheckpoints() {}

    // GPT-2: n_embd 8, 2 heads, 2 layers, vocab 11, 6 positions, n_inner null (→ 32)
    static final int G_DIM = 8, G_HEADS = 2, G_LAYERS = 2, G_VOCAB = 11, G_CTX = 6, G_HIDDEN = 32;

    static String gpt2Config() {
        return """
                {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
                 "n_embd": 8, "n_layer": 2, "n_head": 2, "n_positions": 6, "n_ctx": 6, "n_inner": null,
                 "layer_norm_epsilon": 1e-05, "vocab_size": 11, "resid_pdrop": 0.1, "scale_attn_weights": true,
                 "torch_dtype": "float32", "transformers_version": "4.40.0"}
                """;
    }

    /** GPT-2 tensors as transformers saves them (Conv1D weights [in][out]), plus the attn.bias mask buffers. */
    static List<Written> gpt2Tensors(Random rng, SafetensorsDtype dtype, String prefix, boolean lmHead) {
        List<Written> t = new ArrayList<>();
        t.add(tensor(rng, dtype, prefix + "wte.weight", G_VOCAB, G_DIM));
        t.add(tensor(rng, dtype, prefix + "wpe.weight", G_CTX, G_DIM));
        for (int l = 0; l < G_LAYERS; l++) {
            String h = prefix + "h." + l + ".";
            t.add(tensor(rng, dtype, h + "ln_1.weight", G_DIM));
            t.add(tensor(rng, dtype, h + "ln_1.bias", G_DIM));
            t.add(tensor(rng, dtype, h + "attn.bias", 1, 1, G_CTX, G_CTX));
            t.add(tensor(rng, dtype, h + "attn.c_attn.weight", G_DIM, 3 * G_DIM));
            t.add(tensor(rng, dtype, h + "attn.c_attn.bias", 3 * G_DIM));
            t.add(tensor(rng, dtype, h + "attn.c_proj.weight", G_DIM, G_DIM));
            t.add(tensor(rng, dtype, h + "attn.c_proj.bias", G_DIM));
            t.add(tensor(rng, dtype, h + "ln_2.weight", G_DIM));
            t.add(tensor(rng, dtype, h + "ln_2.bias", G_DIM));
            t.add(tensor(rng, dtype, h + "mlp.c_fc.weight", G_DIM, G_HIDDEN));
            t.add(tensor(rng, dtype, h + "mlp.c_fc.bias", G_HIDDEN));
            t.add(tensor(rng, dtype, h + "mlp.c_proj.weight", G_HIDDEN, G_DIM));
            t.add(tensor(rng, dtype, h + "mlp.c_proj.bias", G_DIM));
        }
        t.add(tensor(rng, dtype, prefix + "ln_f.weight", G_DIM));
        t.add(tensor(rng, dtype, prefix + "ln_f.bias", G_DIM));
        if (lmHead) {
            t.add(tensor(rng, dtype, "lm_head.weight", G_VOCAB, G_DIM));
        }
        return t;
    }

    static List<Written> writeGpt2(Path dir, Random rng, SafetensorsDtype dtype, String prefix, boolean lmHead) {
        List<Written> t = gpt2Tensors(rng, dtype, prefix, lmHead);
        Fixtures.writeString(dir.resolve("config.json"), gpt2Config());
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), dtype, t);
        return t;
    }

    // LLaMA: hidden 16, 4 heads, 2 kv heads (GQA, head size 4), intermediate 24, 2 layers, vocab 13, 10 positions
    static final int L_DIM = 16, L_HEADS = 4, L_KV = 2, L_KV_DIM = 8, L_HIDDEN = 24, L_LAYERS = 2, L_VOCAB = 13, L_CTX = 10;

    static String llamaConfig(boolean tied, String extra) {
        return """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                 "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "max_position_embeddings": 10, "rms_norm_eps": 1e-06,
                 "rope_theta": 500000.0, "rope_scaling": null, "attention_bias": false,
                 "tie_word_embeddings": %s, "vocab_size": 13, "bos_token_id": 1, "eos_token_id": 2 %s}
                """.formatted(tied, extra);
    }

    static List<Written> llamaTensors(Random rng, SafetensorsDtype dtype, boolean lmHead) {
        List<Written> t = new ArrayList<>();
        t.add(tensor(rng, dtype, "model.embed_tokens.weight", L_VOCAB, L_DIM));
        for (int l = 0; l < L_LAYERS; l++) {
            String m = "model.layers." + l + ".";
            t.add(tensor(rng, dtype, m + "input_layernorm.weight", L_DIM));
            t.add(tensor(rng, dtype, m + "self_attn.q_proj.weight", L_DIM, L_DIM));
            t.add(tensor(rng, dtype, m + "self_attn.k_proj.weight", L_KV_DIM, L_DIM));
            t.add(tensor(rng, dtype, m + "self_attn.v_proj.weight", L_KV_DIM, L_DIM));
            t.add(tensor(rng, dtype, m + "self_attn.o_proj.weight", L_DIM, L_DIM));
            t.add(tensor(rng, dtype, m + "post_attention_layernorm.weight", L_DIM));
            t.add(tensor(rng, dtype, m + "mlp.gate_proj.weight", L_HIDDEN, L_DIM));
            t.add(tensor(rng, dtype, m + "mlp.up_proj.weight", L_HIDDEN, L_DIM));
            t.add(tensor(rng, dtype, m + "mlp.down_proj.weight", L_DIM, L_HIDDEN));
        }
        t.add(tensor(rng, dtype, "model.norm.weight", L_DIM));
        if (lmHead) {
            t.add(tensor(rng, dtype, "lm_head.weight", L_VOCAB, L_DIM));
        }
        return t;
    }

    static List<Written> writeLlama(Path dir, Random rng, SafetensorsDtype dtype, boolean tied) {
        List<Written> t = llamaTensors(rng, dtype, !tied);
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(tied, ""));
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), dtype, t);
        return t;
    }
}

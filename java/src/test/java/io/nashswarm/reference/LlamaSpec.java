package io.nashswarm.reference;

import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.format.safetensors.SafetensorsDtype;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A small LLaMA. {@code kvHeads < heads} is grouped-query attention, {@code kvHeads == heads} is
 * multi-head attention; {@code tied} means {@code tie_word_embeddings} and no {@code lm_head.weight}.
 */
record LlamaSpec(String name, SafetensorsDtype dtype, int hidden, int intermediate, int layers, int heads, int kvHeads,
                 int vocab, int maxPositions, double ropeTheta, double eps, boolean tied, long seed, Llama3Rope rope) implements ModelSpec {

    /** {@code rope_scaling} of Llama 3.1 ({@code rope_type "llama3"}). */
    record Llama3Rope(double factor, double lowFreqFactor, double highFreqFactor, int originalContext) {}

    /** Without RoPE scaling. */
    LlamaSpec(String name, SafetensorsDtype dtype, int hidden, int intermediate, int layers, int heads, int kvHeads,
              int vocab, int maxPositions, double ropeTheta, double eps, boolean tied, long seed) {
        this(name, dtype, hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, ropeTheta, eps, tied, seed, null);
    }

    /**
     * HF's inverse frequencies ({@code _compute_llama3_parameters} when scaled), written as transformers
     * writes them with torch.where, for the float64 reference.
     */
    double invFreq(int j) {
        int hs = headDim();
        double inv = 1.0 / Math.pow(ropeTheta, (2.0 * j) / hs);
        if (rope == null) {
            return inv;
        }
        double lowWavelen = rope.originalContext() / rope.lowFreqFactor(), highWavelen = rope.originalContext() / rope.highFreqFactor();
        double wavelen = 2 * Math.PI / inv;
        double llama = wavelen > lowWavelen ? inv / rope.factor() : inv;
        double smooth = (rope.originalContext() / wavelen - rope.lowFreqFactor()) / (rope.highFreqFactor() - rope.lowFreqFactor());
        double smoothed = (1 - smooth) * llama / rope.factor() + smooth * llama;
        boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
        return medium ? smoothed : llama;
    }

    /** llama.cpp's convert_hf_to_gguf rope_freqs for Llama 3.1: per pair, the divisor of the frequency. */
    float[] ggufRopeFreqs() {
        int hs = headDim();
        float[] f = new float[hs / 2];
        double lowWavelen = rope.originalContext() / rope.lowFreqFactor(), highWavelen = rope.originalContext() / rope.highFreqFactor();
        for (int j = 0; j < f.length; j++) {
            double wavelen = 2 * Math.PI * Math.pow(ropeTheta, (2.0 * j) / hs);
            if (wavelen < highWavelen) {
                f[j] = 1;
            } else if (wavelen > lowWavelen) {
                f[j] = (float) rope.factor();
            } else {
                double smooth = (rope.originalContext() / wavelen - rope.lowFreqFactor()) / (rope.highFreqFactor() - rope.lowFreqFactor());
                f[j] = (float) (1 / ((1 - smooth) / rope.factor() + smooth));
            }
        }
        return f;
    }

    private String ropeScalingJson() {
        return rope == null ? "null" : """
                {"factor": %s, "high_freq_factor": %s, "low_freq_factor": %s, "original_max_position_embeddings": %d, "rope_type": "llama3"}"""
                .formatted(rope.factor(), rope.highFreqFactor(), rope.lowFreqFactor(), rope.originalContext());
    }

    int headDim() {
        return hidden / heads;
    }

    @Override
    public int contextLength() {
        return maxPositions;
    }

    @Override
    public String configJson() {
        return """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "attention_bias": false,
                  "attention_dropout": 0.0,
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "head_dim": %d,
                  "hidden_act": "silu",
                  "hidden_size": %d,
                  "initializer_range": 0.02,
                  "intermediate_size": %d,
                  "max_position_embeddings": %d,
                  "mlp_bias": false,
                  "model_type": "llama",
                  "num_attention_heads": %d,
                  "num_hidden_layers": %d,
                  "num_key_value_heads": %d,
                  "pretraining_tp": 1,
                  "rms_norm_eps": %.0e,
                  "rope_scaling": %s,
                  "rope_theta": %s,
                  "tie_word_embeddings": %s,
                  "torch_dtype": "%s",
                  "transformers_version": "4.44.2",
                  "use_cache": true,
                  "vocab_size": %d
                }
                """.formatted(headDim(), hidden, intermediate, maxPositions, heads, layers, kvHeads, eps, ropeScalingJson(), ropeTheta, tied,
                Gpt2Spec.torchDtype(dtype), vocab);
    }

    /** Weights at a scale where attention scores and SwiGLU inputs are of order 1 and logits a few units; RMSNorm gains near 1. */
    @Override
    public Map<String, HfTensor> randomTensors() {
        Random rng = new Random(seed);
        Map<String, HfTensor> t = new LinkedHashMap<>();
        int d = hidden, kv = kvHeads * headDim(), f = intermediate;
        put(t, HfTensor.random(rng, "model.embed_tokens.weight", dtype, 0, 0.3, vocab, d));
        for (int l = 0; l < layers; l++) {
            String m = "model.layers." + l + ".";
            put(t, HfTensor.random(rng, m + "input_layernorm.weight", dtype, 1, 0.1, d));
            put(t, HfTensor.random(rng, m + "self_attn.q_proj.weight", dtype, 0, 0.15, d, d));
            put(t, HfTensor.random(rng, m + "self_attn.k_proj.weight", dtype, 0, 0.15, kv, d));
            put(t, HfTensor.random(rng, m + "self_attn.v_proj.weight", dtype, 0, 0.15, kv, d));
            put(t, HfTensor.random(rng, m + "self_attn.o_proj.weight", dtype, 0, 0.1, d, d));
            put(t, HfTensor.random(rng, m + "post_attention_layernorm.weight", dtype, 1, 0.1, d));
            put(t, HfTensor.random(rng, m + "mlp.gate_proj.weight", dtype, 0, 0.12, f, d));
            put(t, HfTensor.random(rng, m + "mlp.up_proj.weight", dtype, 0, 0.12, f, d));
            put(t, HfTensor.random(rng, m + "mlp.down_proj.weight", dtype, 0, 0.1, d, f));
        }
        put(t, HfTensor.random(rng, "model.norm.weight", dtype, 1, 0.1, d));
        if (!tied) {
            put(t, HfTensor.random(rng, "lm_head.weight", dtype, 0, 0.3, vocab, d));
        }
        return t;
    }

    /**
     * As convert_hf_to_gguf.py's LlamaModel: GGUF names and metadata keys, q_proj rows permuted with
     * num_attention_heads and k_proj rows with num_key_value_heads into the interleaved RoPE order,
     * norms in F32, no output.weight when the embeddings are tied.
     */
    @Override
    public void writeGguf(Map<String, HfTensor> t, Path file) {
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("general.type", GgufValue.string("model"))
                .put("general.name", GgufValue.string(name))
                .put("llama.block_count", GgufValue.uint32(layers))
                .put("llama.context_length", GgufValue.uint32(maxPositions))
                .put("llama.embedding_length", GgufValue.uint32(hidden))
                .put("llama.feed_forward_length", GgufValue.uint32(intermediate))
                .put("llama.attention.head_count", GgufValue.uint32(heads))
                .put("llama.attention.head_count_kv", GgufValue.uint32(kvHeads))
                .put("llama.rope.freq_base", GgufValue.float32((float) ropeTheta))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32((float) eps))
                .put("general.file_type", GgufValue.uint32(GgufConversion.fileType(dtype)))
                .put("llama.vocab_size", GgufValue.uint32(vocab))
                .put("llama.rope.dimension_count", GgufValue.uint32(headDim()));
        GgufConversion.addMatrix(w, "token_embd.weight", t.get("model.embed_tokens.weight"));
        for (int l = 0; l < layers; l++) {
            String m = "model.layers." + l + ".", b = "blk." + l + ".";
            GgufConversion.addVector(w, b + "attn_norm.weight", t.get(m + "input_layernorm.weight"));
            GgufConversion.addMatrix(w, b + "attn_q.weight", GgufConversion.permutedForInterleavedRope(t.get(m + "self_attn.q_proj.weight"), heads));
            GgufConversion.addMatrix(w, b + "attn_k.weight", GgufConversion.permutedForInterleavedRope(t.get(m + "self_attn.k_proj.weight"), kvHeads));
            GgufConversion.addMatrix(w, b + "attn_v.weight", t.get(m + "self_attn.v_proj.weight"));
            GgufConversion.addMatrix(w, b + "attn_output.weight", t.get(m + "self_attn.o_proj.weight"));
            GgufConversion.addVector(w, b + "ffn_norm.weight", t.get(m + "post_attention_layernorm.weight"));
            GgufConversion.addMatrix(w, b + "ffn_gate.weight", t.get(m + "mlp.gate_proj.weight"));
            GgufConversion.addMatrix(w, b + "ffn_up.weight", t.get(m + "mlp.up_proj.weight"));
            GgufConversion.addMatrix(w, b + "ffn_down.weight", t.get(m + "mlp.down_proj.weight"));
        }
        GgufConversion.addVector(w, "output_norm.weight", t.get("model.norm.weight"));
        if (rope != null) {
            w.addVector("rope_freqs.weight", ggufRopeFreqs());
        }
        if (!tied) {
            GgufConversion.addMatrix(w, "output.weight", t.get("lm_head.weight"));
        }
        w.write(file);
    }

    @Override
    public double[][] referenceLogits(Map<String, HfTensor> tensors, int[] tokens) {
        return new LlamaReference(this, tensors).logits(tokens);
    }

    private static void put(Map<String, HfTensor> t, HfTensor tensor) {
        t.put(tensor.name(), tensor);
    }
}

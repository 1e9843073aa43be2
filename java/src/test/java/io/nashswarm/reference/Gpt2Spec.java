package io.nashswarm.reference;

import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.format.safetensors.SafetensorsDtype;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A small GPT-2.
 *
 * @param nInner      config's {@code n_inner}; null means 4·n_embd, as in the released GPT-2 configs
 * @param lmHead      the checkpoint carries its own {@code lm_head.weight} (else the head is tied to wte)
 * @param prefix      "transformer." as GPT2LMHeadModel saves, or "" as the original gpt2 repository has
 * @param maskBuffers include the {@code h.N.attn.bias} causal-mask buffers that older transformers saved
 */
record Gpt2Spec(String name, SafetensorsDtype dtype, int nEmbd, int nHead, int nLayer, int vocab, int nPositions,
                Integer nInner, boolean lmHead, String prefix, boolean maskBuffers, long seed) implements ModelSpec {

    double eps() {
        return 1e-5;
    }

    int inner() {
        return nInner == null ? 4 * nEmbd : nInner;
    }

    @Override
    public int contextLength() {
        return nPositions;
    }

    @Override
    public String configJson() {
        return """
                {
                  "activation_function": "gelu_new",
                  "architectures": ["GPT2LMHeadModel"],
                  "attn_pdrop": 0.1,
                  "bos_token_id": %d,
                  "embd_pdrop": 0.1,
                  "eos_token_id": %d,
                  "initializer_range": 0.02,
                  "layer_norm_epsilon": 1e-05,
                  "model_type": "gpt2",
                  "n_ctx": %d,
                  "n_embd": %d,
                  "n_head": %d,
                  "n_inner": %s,
                  "n_layer": %d,
                  "n_positions": %d,
                  "reorder_and_upcast_attn": false,
                  "resid_pdrop": 0.1,
                  "scale_attn_by_inverse_layer_idx": false,
                  "scale_attn_weights": true,
                  "summary_activation": null,
                  "summary_first_dropout": 0.1,
                  "summary_proj_to_labels": true,
                  "summary_type": "cls_index",
                  "summary_use_proj": true,
                  "torch_dtype": "%s",
                  "transformers_version": "4.44.2",
                  "use_cache": true,
                  "vocab_size": %d
                }
                """.formatted(vocab - 1, vocab - 1, nPositions, nEmbd, nHead, nInner == null ? "null" : nInner.toString(),
                nLayer, nPositions, torchDtype(dtype), vocab);
    }

    /**
     * Weights at a scale where nothing vanishes or saturates: attention scores of order 1, GELU inputs
     * spanning its curved part, logits of order a few units; LayerNorm gains near 1.
     */
    @Override
    public Map<String, HfTensor> randomTensors() {
        Random rng = new Random(seed);
        Map<String, HfTensor> t = new LinkedHashMap<>();
        int d = nEmbd, f = inner();
        put(t, HfTensor.random(rng, prefix + "wte.weight", dtype, 0, 0.3, vocab, d));
        put(t, HfTensor.random(rng, prefix + "wpe.weight", dtype, 0, 0.1, nPositions, d));
        for (int l = 0; l < nLayer; l++) {
            String h = prefix + "h." + l + ".";
            put(t, HfTensor.random(rng, h + "ln_1.weight", dtype, 1, 0.1, d));
            put(t, HfTensor.random(rng, h + "ln_1.bias", dtype, 0, 0.05, d));
            if (maskBuffers) {
                put(t, causalMask(h + "attn.bias"));
            }
            put(t, HfTensor.random(rng, h + "attn.c_attn.weight", dtype, 0, 0.15, d, 3 * d));
            put(t, HfTensor.random(rng, h + "attn.c_attn.bias", dtype, 0, 0.05, 3 * d));
            put(t, HfTensor.random(rng, h + "attn.c_proj.weight", dtype, 0, 0.1, d, d));
            put(t, HfTensor.random(rng, h + "attn.c_proj.bias", dtype, 0, 0.05, d));
            put(t, HfTensor.random(rng, h + "ln_2.weight", dtype, 1, 0.1, d));
            put(t, HfTensor.random(rng, h + "ln_2.bias", dtype, 0, 0.05, d));
            put(t, HfTensor.random(rng, h + "mlp.c_fc.weight", dtype, 0, 0.1, d, f));
            put(t, HfTensor.random(rng, h + "mlp.c_fc.bias", dtype, 0, 0.05, f));
            put(t, HfTensor.random(rng, h + "mlp.c_proj.weight", dtype, 0, 0.1, f, d));
            put(t, HfTensor.random(rng, h + "mlp.c_proj.bias", dtype, 0, 0.05, d));
        }
        put(t, HfTensor.random(rng, prefix + "ln_f.weight", dtype, 1, 0.1, d));
        put(t, HfTensor.random(rng, prefix + "ln_f.bias", dtype, 0, 0.05, d));
        if (lmHead) {
            put(t, HfTensor.random(rng, "lm_head.weight", dtype, 0, 0.3, vocab, d));
        }
        return t;
    }

    /** The lower-triangular ones buffer {@code [1, 1, n_positions, n_positions]}. */
    private HfTensor causalMask(String name) {
        double[] m = new double[nPositions * nPositions];
        for (int r = 0; r < nPositions; r++) {
            for (int c = 0; c <= r; c++) {
                m[r * nPositions + c] = 1;
            }
        }
        return new HfTensor(name, new long[] {1, 1, nPositions, nPositions}, dtype, StoredFloats.encode(m, dtype));
    }

    /**
     * As convert_hf_to_gguf.py's GPT2Model: prefix and mask buffers dropped, Conv1D weights
     * transposed to [out][in], and {@code output.weight} written as a copy of {@code token_embd}
     * (or from lm_head.weight when the checkpoint has one).
     */
    @Override
    public void writeGguf(Map<String, HfTensor> t, Path file) {
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string("gpt2"))
                .put("general.type", GgufValue.string("model"))
                .put("general.name", GgufValue.string(name))
                .put("gpt2.block_count", GgufValue.uint32(nLayer))
                .put("gpt2.context_length", GgufValue.uint32(nPositions))
                .put("gpt2.embedding_length", GgufValue.uint32(nEmbd))
                .put("gpt2.feed_forward_length", GgufValue.uint32(inner()))
                .put("gpt2.attention.head_count", GgufValue.uint32(nHead))
                .put("gpt2.attention.layer_norm_epsilon", GgufValue.float32((float) eps()))
                .put("general.file_type", GgufValue.uint32(GgufConversion.fileType(dtype)));
        GgufConversion.addMatrix(w, "token_embd.weight", t.get(prefix + "wte.weight"));
        GgufConversion.addMatrix(w, "position_embd.weight", t.get(prefix + "wpe.weight"));
        for (int l = 0; l < nLayer; l++) {
            String h = prefix + "h." + l + ".", b = "blk." + l + ".";
            GgufConversion.addVector(w, b + "attn_norm.weight", t.get(h + "ln_1.weight"));
            GgufConversion.addVector(w, b + "attn_norm.bias", t.get(h + "ln_1.bias"));
            GgufConversion.addMatrix(w, b + "attn_qkv.weight", GgufConversion.transposed(t.get(h + "attn.c_attn.weight")));
            GgufConversion.addVector(w, b + "attn_qkv.bias", t.get(h + "attn.c_attn.bias"));
            GgufConversion.addMatrix(w, b + "attn_output.weight", GgufConversion.transposed(t.get(h + "attn.c_proj.weight")));
            GgufConversion.addVector(w, b + "attn_output.bias", t.get(h + "attn.c_proj.bias"));
            GgufConversion.addVector(w, b + "ffn_norm.weight", t.get(h + "ln_2.weight"));
            GgufConversion.addVector(w, b + "ffn_norm.bias", t.get(h + "ln_2.bias"));
            GgufConversion.addMatrix(w, b + "ffn_up.weight", GgufConversion.transposed(t.get(h + "mlp.c_fc.weight")));
            GgufConversion.addVector(w, b + "ffn_up.bias", t.get(h + "mlp.c_fc.bias"));
            GgufConversion.addMatrix(w, b + "ffn_down.weight", GgufConversion.transposed(t.get(h + "mlp.c_proj.weight")));
            GgufConversion.addVector(w, b + "ffn_down.bias", t.get(h + "mlp.c_proj.bias"));
        }
        GgufConversion.addVector(w, "output_norm.weight", t.get(prefix + "ln_f.weight"));
        GgufConversion.addVector(w, "output_norm.bias", t.get(prefix + "ln_f.bias"));
        GgufConversion.addMatrix(w, "output.weight", t.get(lmHead ? "lm_head.weight" : prefix + "wte.weight"));
        w.write(file);
    }

    @Override
    public double[][] referenceLogits(Map<String, HfTensor> tensors, int[] tokens) {
        return new Gpt2Reference(this, tensors).logits(tokens);
    }

    private static void put(Map<String, HfTensor> t, HfTensor tensor) {
        t.put(tensor.name(), tensor);
    }

    static String torchDtype(SafetensorsDtype dtype) {
        return switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException(dtype.name());
        };
    }
}

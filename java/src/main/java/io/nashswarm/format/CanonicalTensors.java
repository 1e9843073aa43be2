package io.nashswarm.format;

import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.List;

/**
 * Every tensor a GPT-2 or LLaMA model has, under the canonical names of
 * {@link io.nashswarm.model.ModelWeights}, with the shapes its {@link ModelConfig} implies. Loaders
 * check files against this list, so a missing, extra or misshapen tensor is caught in one place.
 */
public final class CanonicalTensors {
    private CanonicalTensors() {}

    public static final String TOKEN_EMBD = "token_embd.weight";
    /** Llama 3.1 RoPE frequency divisors (F32, head size / 2), when the model has them: config, not weights. */
    public static final String ROPE_FREQS = "rope_freqs.weight";
    public static final String OUTPUT = "output.weight";

    /**
     * The config as stored: the LM head counts as tied exactly when it is the embedding matrix itself (then it is
     * written once), so a quantizer that gave a tied model a separate head gets both stored.
     */
    public static ModelConfig storedConfig(ModelWeights w) {
        ModelConfig c = w.config();
        WeightMatrix embd = w.matrices().get(TOKEN_EMBD);
        boolean tied = embd != null && w.matrices().get(OUTPUT) == embd;
        return tied == c.tiedEmbeddings() ? c : c.withTiedEmbeddings(tied);
    }

    /** The tensors in file order; {@code output.weight} is left out when the embeddings are tied. */
    public static List<TensorSpec> of(ModelConfig c) {
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(TensorSpec.matrix(TOKEN_EMBD, c.vocabSize(), c.dim()));
        switch (c.architecture()) {
            case GPT2 -> {
                specs.add(TensorSpec.matrix("position_embd.weight", c.contextLength(), c.dim()));
                for (int l = 0; l < c.nLayers(); l++) {
                    String b = "blk." + l + ".";
                    specs.add(TensorSpec.vector(b + "attn_norm.weight", c.dim()));
                    specs.add(TensorSpec.vector(b + "attn_norm.bias", c.dim()));
                    specs.add(TensorSpec.matrix(b + "attn_qkv.weight", 3 * c.dim(), c.dim()));
                    specs.add(TensorSpec.vector(b + "attn_qkv.bias", 3 * c.dim()));
                    specs.add(TensorSpec.matrix(b + "attn_output.weight", c.dim(), c.dim()));
                    specs.add(TensorSpec.vector(b + "attn_output.bias", c.dim()));
                    specs.add(TensorSpec.vector(b + "ffn_norm.weight", c.dim()));
                    specs.add(TensorSpec.vector(b + "ffn_norm.bias", c.dim()));
                    specs.add(TensorSpec.matrix(b + "ffn_up.weight", c.hiddenDim(), c.dim()));
                    specs.add(TensorSpec.vector(b + "ffn_up.bias", c.hiddenDim()));
                    specs.add(TensorSpec.matrix(b + "ffn_down.weight", c.dim(), c.hiddenDim()));
                    specs.add(TensorSpec.vector(b + "ffn_down.bias", c.dim()));
                }
                specs.add(TensorSpec.vector("output_norm.weight", c.dim()));
                specs.add(TensorSpec.vector("output_norm.bias", c.dim()));
            }
            case LLAMA -> {
                int qDim = c.nHeads() * c.headSize();
                for (int l = 0; l < c.nLayers(); l++) {
                    String b = "blk." + l + ".";
                    specs.add(TensorSpec.vector(b + "attn_norm.weight", c.dim()));
                    specs.add(TensorSpec.matrix(b + "attn_q.weight", qDim, c.dim()));
                    specs.add(TensorSpec.matrix(b + "attn_k.weight", c.kvDim(), c.dim()));
                    specs.add(TensorSpec.matrix(b + "attn_v.weight", c.kvDim(), c.dim()));
                    specs.add(TensorSpec.matrix(b + "attn_output.weight", c.dim(), qDim));
                    specs.add(TensorSpec.vector(b + "ffn_norm.weight", c.dim()));
                    specs.add(TensorSpec.matrix(b + "ffn_gate.weight", c.hiddenDim(), c.dim()));
                    specs.add(TensorSpec.matrix(b + "ffn_up.weight", c.hiddenDim(), c.dim()));
                    specs.add(TensorSpec.matrix(b + "ffn_down.weight", c.dim(), c.hiddenDim()));
                }
                specs.add(TensorSpec.vector("output_norm.weight", c.dim()));
            }
        }
        if (!c.tiedEmbeddings()) {
            specs.add(TensorSpec.matrix(OUTPUT, c.vocabSize(), c.dim()));
        }
        return specs;
    }
}

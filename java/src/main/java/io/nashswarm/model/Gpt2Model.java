package io.nashswarm.model;

import io.nashswarm.model.Backend.Buffer;
import io.nashswarm.model.Backend.Matrix;

/** GPT-2: learned positions, pre-LayerNorm blocks, fused QKV with biases, tanh-GELU MLP, tied LM head. */
public final class Gpt2Model extends TransformerModel {
    private final Matrix positionEmbedding;
    private final Layer[] layers;
    private final Buffer lnfW, lnfB;

    private record Layer(Buffer ln1W, Buffer ln1B, Matrix qkv, Buffer qkvB, Matrix proj, Buffer projB,
                         Buffer ln2W, Buffer ln2B, Matrix fc, Buffer fcB, Matrix fcProj, Buffer fcProjB) {}

    Gpt2Model(ModelWeights w, Backend backend) {
        super(w, backend);
        positionEmbedding = matrix("position_embd.weight");
        layers = new Layer[config.nLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(vector(p + "attn_norm.weight"), vector(p + "attn_norm.bias"),
                    matrix(p + "attn_qkv.weight"), vector(p + "attn_qkv.bias"),
                    matrix(p + "attn_output.weight"), vector(p + "attn_output.bias"),
                    vector(p + "ffn_norm.weight"), vector(p + "ffn_norm.bias"),
                    matrix(p + "ffn_up.weight"), vector(p + "ffn_up.bias"),
                    matrix(p + "ffn_down.weight"), vector(p + "ffn_down.bias"));
        }
        lnfW = vector("output_norm.weight");
        lnfB = vector("output_norm.bias");
    }

    @Override
    protected void embed(InferenceState s, int[] tokens, int off, int b, int pos) {
        int dim = config.dim();
        for (int i = 0; i < b; i++) {
            be.embed(tokenEmbedding, tokens[off + i], s.x, i * dim);
            be.embedPosition(positionEmbedding, pos + i, s.xb, 0);
            be.add(s.x, i * dim, s.xb, 0, dim);
        }
    }

    @Override
    protected void block(InferenceState s, int layer, int b, int pos) {
        Layer L = layers[layer];
        int dim = config.dim();
        float eps = config.normEps();

        // attention: the fused projection writes [q | k | v] rows of 3·dim into xb
        be.layernorm(s.xb2, 0, s.x, 0, L.ln1W, L.ln1B, b, dim, eps);
        attention(L.qkv, L.qkvB, s.xb2, s.xb, s, layer, b, pos);
        matmulAdd(L.proj, L.projB, s.att, s.x, s.xb2, b); // x += proj·att + bias

        // MLP
        be.layernorm(s.xb2, 0, s.x, 0, L.ln2W, L.ln2B, b, dim, eps);
        matmulGelu(L.fc, L.fcB, s.xb2, s.hb, b);
        matmulAdd(L.fcProj, L.fcProjB, s.hb, s.x, s.xb2, b);
    }

    @Override
    protected void finalNorm(InferenceState s, int row, int rows) {
        be.layernorm(s.xb, 0, s.x, row * config.dim(), lnfW, lnfB, rows, config.dim(), config.normEps());
    }
}

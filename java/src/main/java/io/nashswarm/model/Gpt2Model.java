package io.nashswarm.model;

import io.nashswarm.tensor.WeightMatrix;

/** GPT-2: learned positions, pre-LayerNorm blocks, fused QKV with biases, tanh-GELU MLP, tied LM head. */
public final class Gpt2Model extends TransformerModel {
    private final WeightMatrix positionEmbedding;
    private final Layer[] layers;
    private final float[] lnfW, lnfB;

    private record Layer(float[] ln1W, float[] ln1B, WeightMatrix qkv, float[] qkvB, WeightMatrix proj, float[] projB,
                         float[] ln2W, float[] ln2B, WeightMatrix fc, float[] fcB, WeightMatrix fcProj, float[] fcProjB) {}

    Gpt2Model(ModelWeights w) {
        super(w);
        positionEmbedding = w.matrix("position_embd.weight");
        layers = new Layer[config.nLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(w.vector(p + "attn_norm.weight"), w.vector(p + "attn_norm.bias"),
                    w.matrix(p + "attn_qkv.weight"), w.vector(p + "attn_qkv.bias"),
                    w.matrix(p + "attn_output.weight"), w.vector(p + "attn_output.bias"),
                    w.vector(p + "ffn_norm.weight"), w.vector(p + "ffn_norm.bias"),
                    w.matrix(p + "ffn_up.weight"), w.vector(p + "ffn_up.bias"),
                    w.matrix(p + "ffn_down.weight"), w.vector(p + "ffn_down.bias"));
        }
        lnfW = w.vector("output_norm.weight");
        lnfB = w.vector("output_norm.bias");
    }

    @Override
    protected void embed(InferenceState s, int[] tokens, int off, int b, int pos) {
        int dim = config.dim();
        for (int i = 0; i < b; i++) {
            tokenEmbedding.dequantizeRow(tokens[off + i], s.x, i * dim);
            positionEmbedding.dequantizeRow(pos + i, s.xb, 0);
            Ops.add(s.x, i * dim, s.xb, 0, dim);
        }
    }

    @Override
    protected void block(InferenceState s, int layer, int b, int pos) {
        Layer L = layers[layer];
        int dim = config.dim(), hidden = config.hiddenDim();
        float eps = config.normEps();

        // attention: the fused projection writes [q | k | v] rows of 3·dim into xb
        for (int i = 0; i < b; i++) {
            Ops.layernorm(s.xb2, i * dim, s.x, i * dim, L.ln1W, L.ln1B, dim, eps);
        }
        matmul(L.qkv, s.xb2, s.xb, b);
        Ops.addBias(s.xb, L.qkvB, b, 3 * dim);
        for (int i = 0; i < b; i++) {
            System.arraycopy(s.xb, i * 3 * dim, s.q, i * dim, dim);
            System.arraycopy(s.xb, i * 3 * dim + dim, s.k, i * dim, dim);
            System.arraycopy(s.xb, i * 3 * dim + 2 * dim, s.v, i * dim, dim);
        }
        cacheKv(s, layer, b, pos);
        attention(s, layer, b, pos);
        matmul(L.proj, s.att, s.xb2, b);
        Ops.addBias(s.xb2, L.projB, b, dim);
        Ops.add(s.x, 0, s.xb2, 0, b * dim);

        // MLP
        for (int i = 0; i < b; i++) {
            Ops.layernorm(s.xb2, i * dim, s.x, i * dim, L.ln2W, L.ln2B, dim, eps);
        }
        matmul(L.fc, s.xb2, s.hb, b);
        Ops.addBias(s.hb, L.fcB, b, hidden);
        Ops.geluTanh(s.hb, 0, b * hidden);
        matmul(L.fcProj, s.hb, s.xb2, b);
        Ops.addBias(s.xb2, L.fcProjB, b, dim);
        Ops.add(s.x, 0, s.xb2, 0, b * dim);
    }

    @Override
    protected void finalNorm(InferenceState s, int row, float[] out, int outOff) {
        Ops.layernorm(out, outOff, s.x, row * config.dim(), lnfW, lnfB, config.dim(), config.normEps());
    }
}

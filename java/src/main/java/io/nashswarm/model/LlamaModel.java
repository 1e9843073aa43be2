package io.nashswarm.model;

import io.nashswarm.tensor.WeightMatrix;

/** LLaMA: RMSNorm, RoPE, grouped-query attention, SwiGLU MLP, no biases. */
public final class LlamaModel extends TransformerModel {
    private final Layer[] layers;
    private final float[] finalNorm;
    /** cos/sin of RoPE per position and pair: [pos][hs/2]. */
    private final float[] ropeCos, ropeSin;

    private record Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                         float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {}

    LlamaModel(ModelWeights w) {
        super(w);
        layers = new Layer[config.nLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(w.vector(p + "attn_norm.weight"),
                    w.matrix(p + "attn_q.weight"), w.matrix(p + "attn_k.weight"), w.matrix(p + "attn_v.weight"),
                    w.matrix(p + "attn_output.weight"), w.vector(p + "ffn_norm.weight"),
                    w.matrix(p + "ffn_gate.weight"), w.matrix(p + "ffn_up.weight"), w.matrix(p + "ffn_down.weight"));
        }
        finalNorm = w.vector("output_norm.weight");
        int half = config.headSize() / 2, ctx = config.contextLength();
        ropeCos = new float[ctx * half];
        ropeSin = new float[ctx * half];
        for (int pos = 0; pos < ctx; pos++) {
            for (int j = 0; j < half; j++) {
                // Same frequencies as llama2.c (head_dim = 2j) and HF (inv_freq[j]); only the pairing differs.
                double freq = RopeFrequencies.of(config, j);
                double angle = pos * freq;
                ropeCos[pos * half + j] = (float) Math.cos(angle);
                ropeSin[pos * half + j] = (float) Math.sin(angle);
            }
        }
    }

    @Override
    protected void embed(InferenceState s, int[] tokens, int off, int b, int pos) {
        for (int i = 0; i < b; i++) {
            tokenEmbedding.dequantizeRow(tokens[off + i], s.x, i * config.dim());
        }
    }

    @Override
    protected void block(InferenceState s, int layer, int b, int pos) {
        Layer L = layers[layer];
        int dim = config.dim(), hidden = config.hiddenDim();
        float eps = config.normEps();

        // attention
        for (int i = 0; i < b; i++) {
            Ops.rmsnorm(s.xb, i * dim, s.x, i * dim, L.attnNorm, dim, eps);
        }
        matmul(L.wq, s.xb, s.q, b);
        matmul(L.wk, s.xb, s.k, b);
        matmul(L.wv, s.xb, s.v, b);
        for (int i = 0; i < b; i++) {
            rope(s.q, i * dim, config.nHeads(), pos + i);
            rope(s.k, i * config.kvDim(), config.nKvHeads(), pos + i);
        }
        cacheKv(s, layer, b, pos);
        attention(s, layer, b, pos);
        matmul(L.wo, s.att, s.xb2, b);
        Ops.add(s.x, 0, s.xb2, 0, b * dim);

        // feed-forward
        for (int i = 0; i < b; i++) {
            Ops.rmsnorm(s.xb, i * dim, s.x, i * dim, L.ffnNorm, dim, eps);
        }
        matmul(L.gate, s.xb, s.hb, b);
        matmul(L.up, s.xb, s.hb2, b);
        Ops.swiglu(s.hb, s.hb2, 0, b * hidden);
        matmul(L.down, s.hb, s.xb2, b);
        Ops.add(s.x, 0, s.xb2, 0, b * dim);
    }

    /** Rotates each head of the row at {@code off} for position {@code pos}. */
    private void rope(float[] v, int off, int heads, int pos) {
        int hs = config.headSize(), half = hs / 2;
        int t = pos * half;
        // INTERLEAVED rotates (2j, 2j+1); ROTATE_HALF rotates (j, j+half).
        boolean interleaved = config.ropeStyle() == RopeStyle.INTERLEAVED;
        int step = interleaved ? 2 : 1, partner = interleaved ? 1 : half;
        for (int h = 0; h < heads; h++) {
            int base = off + h * hs;
            for (int j = 0; j < half; j++) {
                int a = base + step * j, c = a + partner;
                float cos = ropeCos[t + j], sin = ropeSin[t + j];
                float v0 = v[a], v1 = v[c];
                v[a] = v0 * cos - v1 * sin;
                v[c] = v0 * sin + v1 * cos;
            }
        }
    }

    @Override
    protected void finalNorm(InferenceState s, int row, float[] out, int outOff) {
        Ops.rmsnorm(out, outOff, s.x, row * config.dim(), finalNorm, config.dim(), config.normEps());
    }
}

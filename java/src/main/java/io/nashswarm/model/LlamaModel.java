package io.nashswarm.model;

import io.nashswarm.model.Backend.Buffer;
import io.nashswarm.model.Backend.Matrix;

/** LLaMA: RMSNorm, RoPE, grouped-query attention, SwiGLU MLP, no biases. */
public final class LlamaModel extends TransformerModel {
    private final Layer[] layers;
    private final Buffer finalNorm;
    /** cos/sin of RoPE per position and pair: [pos][hs/2]. */
    private final Buffer ropeCos, ropeSin;

    private record Layer(Buffer attnNorm, Matrix[] qkv, Matrix wo, Buffer ffnNorm, Matrix gate, Matrix up, Matrix down) {}

    LlamaModel(ModelWeights w, Backend backend) {
        super(w, backend);
        layers = new Layer[config.nLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(vector(p + "attn_norm.weight"),
                    new Matrix[] {matrix(p + "attn_q.weight"), matrix(p + "attn_k.weight"), matrix(p + "attn_v.weight")},
                    matrix(p + "attn_output.weight"), vector(p + "ffn_norm.weight"),
                    matrix(p + "ffn_gate.weight"), matrix(p + "ffn_up.weight"), matrix(p + "ffn_down.weight"));
        }
        finalNorm = vector("output_norm.weight");
        int half = config.headSize() / 2, ctx = config.contextLength();
        float[] cos = new float[ctx * half], sin = new float[ctx * half];
        for (int pos = 0; pos < ctx; pos++) {
            for (int j = 0; j < half; j++) {
                // Same frequencies as llama2.c (head_dim = 2j) and HF (inv_freq[j]); only the pairing differs.
                double freq = RopeFrequencies.of(config, j);
                double angle = pos * freq;
                cos[pos * half + j] = (float) Math.cos(angle);
                sin[pos * half + j] = (float) Math.sin(angle);
            }
        }
        ropeCos = be.upload(cos);
        ropeSin = be.upload(sin);
    }

    @Override
    protected void embed(InferenceState s, int[] tokens, int off, int b, int pos) {
        for (int i = 0; i < b; i++) {
            be.embed(tokenEmbedding, tokens[off + i], s.x, i * config.dim());
        }
    }

    @Override
    protected void block(InferenceState s, int layer, int b, int pos) {
        Layer L = layers[layer];
        int dim = config.dim();
        float eps = config.normEps();

        // attention
        be.rmsnorm(s.xb, 0, s.x, 0, L.attnNorm, b, dim, eps);
        attention(L.qkv, s.xb, s, layer, b, pos, ropeCos, ropeSin); // q, k, v; RoPE; cache; attention into s.att
        matmulAdd(L.wo, null, s.att, s.x, s.xb2, b); // x += wo·att

        // feed-forward
        be.rmsnorm(s.xb, 0, s.x, 0, L.ffnNorm, b, dim, eps);
        matmulSwiglu(L.gate, L.up, s.xb, s.hb, s.hb2, b); // hb = silu(gate·xb) · (up·xb)
        matmulAdd(L.down, null, s.hb, s.x, s.xb2, b);
    }

    @Override
    protected void finalNorm(InferenceState s, int row, int rows) {
        be.rmsnorm(s.xb, 0, s.x, row * config.dim(), finalNorm, rows, config.dim(), config.normEps());
    }
}

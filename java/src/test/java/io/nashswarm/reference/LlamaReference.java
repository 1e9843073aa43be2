package io.nashswarm.reference;

import java.util.Map;

/**
 * LLaMA in float64 with Hugging Face {@code LlamaForCausalLM} semantics, recomputing the whole
 * sequence (no cache): RMSNorm, rotate-half RoPE with {@code rope_theta}, grouped-query attention,
 * SwiGLU, LM head {@code lm_head.weight} or the tied {@code embed_tokens}. Every projection is an
 * nn.Linear {@code [out][in]}, read by its HF name.
 */
final class LlamaReference {
    private final LlamaSpec spec;
    private final Map<String, HfTensor> t;

    LlamaReference(LlamaSpec spec, Map<String, HfTensor> tensors) {
        this.spec = spec;
        this.t = tensors;
    }

    /** Logits at every position of {@code tokens}: {@code [len][vocab]}. */
    double[][] logits(int[] tokens) {
        int len = tokens.length, heads = spec.heads(), kvHeads = spec.kvHeads(), hs = spec.hidden() / heads;
        double[][] embed = mat("model.embed_tokens.weight");
        double[][] h = new double[len][];
        for (int pos = 0; pos < len; pos++) {
            h[pos] = embed[tokens[pos]].clone();
        }
        for (int l = 0; l < spec.layers(); l++) {
            String b = "model.layers." + l + ".";
            double[][] wq = mat(b + "self_attn.q_proj.weight"), wk = mat(b + "self_attn.k_proj.weight"),
                    wv = mat(b + "self_attn.v_proj.weight"), wo = mat(b + "self_attn.o_proj.weight");
            double[][] q = new double[len][], k = new double[len][], v = new double[len][];
            for (int pos = 0; pos < len; pos++) {
                double[] a = RefMath.rmsNorm(h[pos], vec(b + "input_layernorm.weight"), spec.eps());
                q[pos] = rotateHalfRope(RefMath.linear(wq, a), heads, hs, pos);
                k[pos] = rotateHalfRope(RefMath.linear(wk, a), kvHeads, hs, pos);
                v[pos] = RefMath.linear(wv, a);
            }
            double[][] att = RefMath.causalAttention(q, k, v, heads, kvHeads, hs);
            double[][] gate = mat(b + "mlp.gate_proj.weight"), up = mat(b + "mlp.up_proj.weight"), down = mat(b + "mlp.down_proj.weight");
            for (int pos = 0; pos < len; pos++) {
                RefMath.addInPlace(h[pos], RefMath.linear(wo, att[pos]));
                double[] m = RefMath.rmsNorm(h[pos], vec(b + "post_attention_layernorm.weight"), spec.eps());
                double[] g = RefMath.linear(gate, m), u = RefMath.linear(up, m);
                for (int i = 0; i < g.length; i++) {
                    g[i] = RefMath.silu(g[i]) * u[i];
                }
                RefMath.addInPlace(h[pos], RefMath.linear(down, g));
            }
        }
        double[][] head = spec.tied() ? embed : mat("lm_head.weight");
        double[][] out = new double[len][];
        for (int pos = 0; pos < len; pos++) {
            out[pos] = RefMath.linear(head, RefMath.rmsNorm(h[pos], vec("model.norm.weight"), spec.eps()));
        }
        return out;
    }

    /**
     * HF's apply_rotary_pos_emb: with inv_freq[j] = θ^(−2j/hs) (Llama 3.1 scaled: {@link LlamaSpec#invFreq}), cos = cat(cos(pos·inv_freq), same)
     * and likewise sin, each head becomes x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x2, x1).
     */
    private double[] rotateHalfRope(double[] x, int nHeads, int hs, int pos) {
        int half = hs / 2;
        double[] out = new double[x.length];
        for (int h = 0; h < nHeads; h++) {
            int o = h * hs;
            for (int i = 0; i < hs; i++) {
                double invFreq = spec.invFreq(i % half);
                double angle = pos * invFreq;
                double rotated = i < half ? -x[o + i + half] : x[o + i - half];
                out[o + i] = x[o + i] * Math.cos(angle) + rotated * Math.sin(angle);
            }
        }
        return out;
    }

    private double[][] mat(String name) {
        return java.util.Objects.requireNonNull(t.get(name), name).matrix();
    }

    private double[] vec(String name) {
        return java.util.Objects.requireNonNull(t.get(name), name).vector();
    }
}

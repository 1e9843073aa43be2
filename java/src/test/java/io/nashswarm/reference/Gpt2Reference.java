package io.nashswarm.reference;

import java.util.Map;

/**
 * GPT-2 in float64 with Hugging Face {@code GPT2LMHeadModel} semantics, recomputing the whole
 * sequence (no cache). Weights are read by their HF names in HF's orientation: Conv1D weights
 * {@code [in][out]} with y = x·W + b; the LM head is {@code wte} unless the checkpoint has
 * {@code lm_head.weight} ({@code [vocab][n_embd]}, an nn.Linear).
 */
final class Gpt2Reference {
    private final Gpt2Spec spec;
    private final Map<String, HfTensor> t;
    private final String p;

    Gpt2Reference(Gpt2Spec spec, Map<String, HfTensor> tensors) {
        this.spec = spec;
        this.t = tensors;
        this.p = spec.prefix();
    }

    /** Logits at every position of {@code tokens}: {@code [len][vocab]}. */
    double[][] logits(int[] tokens) {
        int len = tokens.length, dim = spec.nEmbd(), heads = spec.nHead();
        double[][] wte = mat(p + "wte.weight"), wpe = mat(p + "wpe.weight");
        double[][] h = new double[len][dim];
        for (int pos = 0; pos < len; pos++) {
            for (int i = 0; i < dim; i++) {
                h[pos][i] = wte[tokens[pos]][i] + wpe[pos][i];
            }
        }
        for (int l = 0; l < spec.nLayer(); l++) {
            String b = p + "h." + l + ".";
            // attention: c_attn gives [q | k | v], each n_embd wide, heads consecutive within each
            double[][] q = new double[len][], k = new double[len][], v = new double[len][];
            double[][] cAttn = mat(b + "attn.c_attn.weight");
            for (int pos = 0; pos < len; pos++) {
                double[] a = RefMath.layerNorm(h[pos], vec(b + "ln_1.weight"), vec(b + "ln_1.bias"), spec.eps());
                double[] qkv = RefMath.conv1d(cAttn, vec(b + "attn.c_attn.bias"), a);
                q[pos] = java.util.Arrays.copyOfRange(qkv, 0, dim);
                k[pos] = java.util.Arrays.copyOfRange(qkv, dim, 2 * dim);
                v[pos] = java.util.Arrays.copyOfRange(qkv, 2 * dim, 3 * dim);
            }
            double[][] att = RefMath.causalAttention(q, k, v, heads, heads, dim / heads);
            double[][] cProj = mat(b + "attn.c_proj.weight"), cFc = mat(b + "mlp.c_fc.weight"), mProj = mat(b + "mlp.c_proj.weight");
            for (int pos = 0; pos < len; pos++) {
                RefMath.addInPlace(h[pos], RefMath.conv1d(cProj, vec(b + "attn.c_proj.bias"), att[pos]));
                double[] m = RefMath.layerNorm(h[pos], vec(b + "ln_2.weight"), vec(b + "ln_2.bias"), spec.eps());
                double[] f = RefMath.conv1d(cFc, vec(b + "mlp.c_fc.bias"), m);
                for (int i = 0; i < f.length; i++) {
                    f[i] = RefMath.geluTanh(f[i]);
                }
                RefMath.addInPlace(h[pos], RefMath.conv1d(mProj, vec(b + "mlp.c_proj.bias"), f));
            }
        }
        double[][] head = spec.lmHead() ? mat("lm_head.weight") : wte;
        double[][] out = new double[len][];
        for (int pos = 0; pos < len; pos++) {
            out[pos] = RefMath.linear(head, RefMath.layerNorm(h[pos], vec(p + "ln_f.weight"), vec(p + "ln_f.bias"), spec.eps()));
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

package io.nashswarm.reference;

/**
 * The float64 building blocks of the reference forward passes, written as the Hugging Face modeling
 * code defines them (and as llm.c spells them out), one position at a time with plain loops.
 */
final class RefMath {
    private RefMath() {}

    /** {@code nn.Linear} without bias: w is {@code [out][in]}, y = W·x. */
    static double[] linear(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            double acc = 0;
            for (int i = 0; i < x.length; i++) {
                acc += w[o][i] * x[i];
            }
            y[o] = acc;
        }
        return y;
    }

    /** GPT-2's {@code Conv1D}: w is {@code [in][out]}, y = x·W + b. */
    static double[] conv1d(double[][] w, double[] b, double[] x) {
        double[] y = b.clone();
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < y.length; o++) {
                y[o] += x[i] * w[i][o];
            }
        }
        return y;
    }

    /** {@code nn.LayerNorm}: biased variance, eps inside the square root. */
    static double[] layerNorm(double[] x, double[] w, double[] b, double eps) {
        int n = x.length;
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= n;
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
        }
        var /= n;
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            y[i] = (x[i] - mean) / Math.sqrt(var + eps) * w[i] + b[i];
        }
        return y;
    }

    /** {@code LlamaRMSNorm}: x / sqrt(mean(x²) + eps) · w. */
    static double[] rmsNorm(double[] x, double[] w, double eps) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        ms /= x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / Math.sqrt(ms + eps) * w[i];
        }
        return y;
    }

    /** GPT-2's {@code gelu_new}: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    static double geluTanh(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    static void addInPlace(double[] y, double[] x) {
        for (int i = 0; i < y.length; i++) {
            y[i] += x[i];
        }
    }

    /**
     * Causal scaled dot-product attention over a whole sequence. {@code q[t]} holds {@code heads}
     * heads of {@code headSize}; {@code k[t]}, {@code v[t]} hold {@code kvHeads} heads, and query head
     * h reads key/value head {@code h / (heads / kvHeads)} (HF's repeat_kv). Scores are scaled by
     * 1/√headSize, position t attends to positions 0..t.
     */
    static double[][] causalAttention(double[][] q, double[][] k, double[][] v, int heads, int kvHeads, int headSize) {
        int len = q.length, group = heads / kvHeads;
        double[][] out = new double[len][heads * headSize];
        for (int t = 0; t < len; t++) {
            for (int h = 0; h < heads; h++) {
                int qo = h * headSize, ko = (h / group) * headSize;
                double[] p = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int i = 0; i < headSize; i++) {
                        dot += q[t][qo + i] * k[s][ko + i];
                    }
                    p[s] = dot / Math.sqrt(headSize);
                    max = Math.max(max, p[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    p[s] = Math.exp(p[s] - max);
                    sum += p[s];
                }
                for (int s = 0; s <= t; s++) {
                    for (int i = 0; i < headSize; i++) {
                        out[t][qo + i] += p[s] / sum * v[s][ko + i];
                    }
                }
            }
        }
        return out;
    }

    /** −log softmax(logits)[target] in double. */
    static double negLogLikelihood(double[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (double l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (double l : logits) {
            sum += Math.exp(l - max);
        }
        return Math.log(sum) + max - logits[target];
    }
}

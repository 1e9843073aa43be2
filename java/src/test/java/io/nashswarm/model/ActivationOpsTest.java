package io.nashswarm.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * SwiGLU, GPT-2's GELU and LayerNorm and attention's softmax ({@link Ops#swiglu}, {@link Ops#geluTanh}, {@link Ops#layernorm},
 * {@link Ops#softmax}, in vectors with a scalar tail) against float64, at
 * lengths and offsets that are and are not multiples of the vector length, with large, tiny, signed-zero and
 * non-finite inputs; elements outside the range stay as they were.
 */
class ActivationOpsTest {
    private static final float[] SPECIAL = {0f, -0f, 1e-30f, -1e-30f, 88.8f, -88.8f, 100f, -100f, 1e6f, -1e6f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};

    @Test
    void swigluMatchesFloat64() {
        Random rnd = new Random(5);
        for (int n : new int[] {1, 7, 16, 33, 100, 8192}) {
            for (int off : new int[] {0, 3}) {
                float[] g = inputs(rnd, off + n + 2), u = inputs(rnd, off + n + 2), was = g.clone();
                Ops.swiglu(g, u, off, n);
                for (int i = 0; i < g.length; i++) {
                    if (i < off || i >= off + n) {
                        assertEquals(was[i], g[i], 0f, "outside the range, " + i);
                        continue;
                    }
                    double v = was[i], want = v / (1 + Math.exp(-v)) * u[i];
                    check(want, g[i], Math.abs(v * u[i]), "swiglu(" + was[i] + ") · " + u[i]);
                }
            }
        }
    }

    @Test
    void geluTanhMatchesFloat64() {
        Random rnd = new Random(6);
        double c = Math.sqrt(2 / Math.PI);
        for (int n : new int[] {1, 7, 16, 33, 100, 3072}) {
            for (int off : new int[] {0, 5}) {
                float[] x = inputs(rnd, off + n + 1), was = x.clone();
                Ops.geluTanh(x, off, n);
                for (int i = 0; i < x.length; i++) {
                    if (i < off || i >= off + n) {
                        assertEquals(was[i], x[i], 0f, "outside the range, " + i);
                        continue;
                    }
                    double v = was[i], want = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)));
                    check(want, x[i], Math.abs(v), "gelu(" + was[i] + ")");
                }
            }
        }
    }

    /**
     * Attention's softmax (vector max, exp and sum with scalar tails) against float64: every probability within 1e-6
     * relative plus 1e-12 absolute (the sum of up to 513 floats, about n·2^-24), the sum 1 within 1e-6; scores spread
     * up to ±60, so that the smallest terms underflow towards 0 as they do in float.
     */
    @Test
    void softmaxMatchesFloat64() {
        Random rnd = new Random(7);
        for (int n : new int[] {1, 7, 16, 17, 100, 513}) {
            for (double spread : new double[] {1, 20}) {
                int off = 3;
                float[] x = new float[off + n + 2];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) (rnd.nextGaussian() * spread);
                }
                float[] was = x.clone();
                Ops.softmax(x, off, n);
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int i = off; i < off + n; i++) {
                    max = Math.max(max, was[i]);
                }
                for (int i = off; i < off + n; i++) {
                    sum += Math.exp(was[i] - max);
                }
                double total = 0;
                for (int i = 0; i < x.length; i++) {
                    if (i < off || i >= off + n) {
                        assertEquals(was[i], x[i], 0f, "outside the range, " + i);
                        continue;
                    }
                    double want = Math.exp(was[i] - max) / sum;
                    assertEquals(want, x[i], 1e-6 * want + 1e-12, "softmax at " + i + " of " + n + ", spread " + spread);
                    total += x[i];
                }
                assertEquals(1.0, total, 1e-6, "sum of " + n);
            }
        }
    }

    /**
     * LayerNorm (vector sums with scalar tails) against float64: every output within 1e-5 of the float64 value in units
     * of |w|·|x − mean|/σ + |b| (a float sum of n values is off by about n·2^-24 of their magnitude), at widths that are
     * and are not multiples of the vector length, with a large common offset (mean 1e4, spread 1: the variance then
     * needs the two passes) and a constant row (variance 0: the output is the bias, up to eps).
     */
    @Test
    void layernormMatchesFloat64() {
        Random rnd = new Random(8);
        for (int n : new int[] {1, 7, 16, 33, 100, 768, 1600}) {
            for (double offset : new double[] {0, 1e4}) {
                for (boolean constant : new boolean[] {false, true}) {
                    int xOff = 5, oOff = 2;
                    float[] x = new float[xOff + n + 3], w = new float[n], b = new float[n], out = new float[oOff + n + 4];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) (offset + (constant ? 0.5 : rnd.nextGaussian()));
                    }
                    for (int i = 0; i < n; i++) {
                        w[i] = (float) rnd.nextGaussian();
                        b[i] = (float) rnd.nextGaussian();
                    }
                    float[] before = out.clone();
                    float eps = 1e-5f;
                    Ops.layernorm(out, oOff, x, xOff, w, b, n, eps);
                    double mean = 0, var = 0;
                    for (int i = 0; i < n; i++) {
                        mean += x[xOff + i];
                    }
                    mean /= n;
                    for (int i = 0; i < n; i++) {
                        var += (x[xOff + i] - mean) * (x[xOff + i] - mean);
                    }
                    double sd = Math.sqrt(var / n + eps);
                    for (int i = 0; i < out.length; i++) {
                        if (i < oOff || i >= oOff + n) {
                            assertEquals(before[i], out[i], 0f, "outside the range, " + i);
                            continue;
                        }
                        int c = i - oOff;
                        double z = (x[xOff + c] - mean) / sd, want = z * w[c] + b[c];
                        double scale = Math.abs(w[c]) * (Math.abs(z) + Math.abs(offset) / sd * 1e-2) + Math.abs(b[c]) + 1e-3;
                        assertEquals(want, out[i], 1e-5 * scale, "layernorm at " + c + " of " + n + ", offset " + offset
                                + (constant ? ", constant row" : ""));
                    }
                }
            }
        }
    }

    /**
     * Within 8 float ulps of the float64 value plus 1e-6·{@code scale} (the input times the other factor: where
     * {@code 1 + tanh} cancels or {@code exp} overflows, the float formula's error is relative to that, not to the
     * result), NaN where it is NaN.
     */
    private static void check(double want, float got, double scale, String what) {
        if (Double.isNaN(want)) {
            assertEquals(Float.NaN, got, what);
        } else if (Double.isInfinite(want) || Math.abs(want) > Float.MAX_VALUE) {
            assertEquals((float) want, got, what);
        } else {
            assertEquals(want, got, 8 * Math.ulp((float) want) + 1e-6 * scale + 1e-40, what);
        }
    }

    /** Gaussians of spread 4, with the special values at the front. */
    private static float[] inputs(Random rnd, int len) {
        float[] a = new float[len];
        for (int i = 0; i < len; i++) {
            a[i] = i < SPECIAL.length ? SPECIAL[i] : (float) rnd.nextGaussian() * 4;
        }
        return a;
    }
}

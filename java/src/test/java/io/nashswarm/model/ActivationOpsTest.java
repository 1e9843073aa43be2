package io.nashswarm.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * SwiGLU, GPT-2's GELU and attention's softmax ({@link Ops#swiglu}, {@link Ops#geluTanh}, {@link Ops#softmax}, in vectors with a scalar tail) against float64, at
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

package io.nashswarm.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One head's attention kernels ({@link Ops#scores}, {@link Ops#mix}) against float64 sums, at head sizes that are and are
 * not multiples of the vector length and position counts that are and are not multiples of four; and the scores against
 * {@link Ops#dot}, whose order of summation they keep up to the final lane reduction.
 */
class AttentionOpsTest {
    @Test
    void scoresAndMixMatchFloat64() {
        Random rnd = new Random(11);
        for (int n : new int[] {8, 16, 24, 64, 80, 128, 7}) {
            for (int count : new int[] {1, 3, 4, 5, 31, 97}) {
                float[] q = gaussian(rnd, 3 + n), k = gaussian(rnd, 5 + count * n), v = gaussian(rnd, 2 + count * n);
                float[] scores = new float[1 + count];
                float scale = 0.125f;
                Ops.scores(q, 3, k, 5, n, count, scale, scores, 1);
                for (int j = 0; j < count; j++) {
                    double want = 0, mag = 0;
                    for (int i = 0; i < n; i++) {
                        want += (double) q[3 + i] * k[5 + j * n + i];
                        mag += Math.abs((double) q[3 + i] * k[5 + j * n + i]);
                    }
                    assertEquals(want * scale, scores[1 + j], 1e-6 * mag * scale + 1e-30, "score " + j + ", n " + n + ", count " + count);
                    // Not compared bit for bit with Ops.dot: reduceLanes' lane order is the JIT's choice and differs
                    // between the interpreter, C1 and C2 (a CI run on AVX2 saw dot and scores one ulp apart).
                    float viaDot = Ops.dot(q, 3, k, 5 + j * n, n) * scale;
                    assertEquals(viaDot, scores[1 + j], 1e-6f * (float) (mag * scale) + 1e-30f, "as dot, n " + n);
                }
                float[] out = new float[4 + n];
                java.util.Arrays.fill(out, Float.NaN); // every element must be written
                Ops.mix(scores, 1, count, v, 2, n, out, 4);
                for (int i = 0; i < n; i++) {
                    double want = 0, mag = 0;
                    for (int j = 0; j < count; j++) {
                        want += (double) scores[1 + j] * v[2 + j * n + i];
                        mag += Math.abs((double) scores[1 + j] * v[2 + j * n + i]);
                    }
                    assertEquals(want, out[4 + i], 1e-6 * mag + 1e-30, "output " + i + ", n " + n + ", count " + count);
                }
            }
        }
    }

    private static float[] gaussian(Random rnd, int len) {
        float[] a = new float[len];
        for (int i = 0; i < len; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }
}

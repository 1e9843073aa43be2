package io.nashswarm.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Greedy decoding's {@link Sampler#argmax} (a vector maximum, then the first index holding it) against the plain scan
 * written out here: the first index of the largest value, NaNs after the first element skipped. Lengths around the
 * vector length, the maximum in the scalar tail, ties, infinities, signed zeros and NaNs.
 */
class SamplerTest {
    @Test
    void argmaxIsTheFirstLargest() {
        Random rnd = new Random(11);
        float[] special = {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -0f, 0f, 3f};
        for (int n = 0; n <= 70; n++) {
            for (int trial = 0; trial < 200; trial++) {
                float[] x = new float[n + 3];
                for (int i = 0; i < x.length; i++) {
                    x[i] = trial % 2 == 0 ? (float) rnd.nextGaussian() : rnd.nextInt(4); // odd trials: many ties
                }
                int planted = trial % 5; // how many special values to put in
                for (int p = 0; p < planted && n > 0; p++) {
                    x[rnd.nextInt(n)] = special[rnd.nextInt(special.length)];
                }
                if (n > 0 && trial % 7 == 0) {
                    x[n - 1] = 1e9f; // the largest in the scalar tail (or the last vector)
                }
                x[n] = 1e30f; // past n: never chosen
                assertEquals(scan(x, n), Sampler.argmax(x, n), "argmax of " + java.util.Arrays.toString(java.util.Arrays.copyOf(x, n)));
            }
        }
        assertEquals(50256, Sampler.argmax(largestAt(50257, 50256)));
        assertEquals(7, Sampler.argmax(largestAt(50257, 7)));
    }

    private static int scan(float[] x, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static float[] largestAt(int n, int at) {
        float[] x = new float[n];
        java.util.Arrays.fill(x, -1f);
        x[at] = 2f;
        x[n - 1 - at] = Math.max(x[n - 1 - at], 1f);
        return x;
    }
}

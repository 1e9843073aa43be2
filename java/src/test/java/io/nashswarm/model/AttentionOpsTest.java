package io.nashswarm.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One head's attention kernels ({@link Ops#scores} over keys transposed in tiles of {@link Ops#KEY_TILE} positions,
 * {@link Ops#mix}) against float64 sums, at head sizes that are and are not multiples of the vector length and four,
 * and position counts that are and are not multiples of the tile; a last tile's lanes past the count are not stored.
 */
class AttentionOpsTest {
    @Test
    void scoresAndMixMatchFloat64() {
        Random rnd = new Random(11);
        for (int n : new int[] {8, 16, 24, 64, 80, 128, 7}) {
            for (int count : new int[] {1, 3, 4, 5, 31, 97}) {
                int t = Ops.KEY_TILE, tiles = (count + t - 1) / t;
                float[] q = gaussian(rnd, 3 + n), keys = gaussian(rnd, count * n), v = gaussian(rnd, 2 + count * n);
                float[] k = gaussian(rnd, 5 + tiles * t * n); // lanes past the count hold other values, as in a cache
                for (int j = 0; j < count; j++) {
                    for (int i = 0; i < n; i++) {
                        k[5 + j / t * t * n + i * t + j % t] = keys[j * n + i];
                    }
                }
                float[] scores = new float[1 + count + t];
                java.util.Arrays.fill(scores, Float.NaN);
                float scale = 0.125f;
                Ops.scores(q, 3, k, 5, n, count, scale, scores, 1);
                for (int j = 0; j < count; j++) {
                    double want = 0, mag = 0;
                    for (int i = 0; i < n; i++) {
                        want += (double) q[3 + i] * keys[j * n + i];
                        mag += Math.abs((double) q[3 + i] * keys[j * n + i]);
                    }
                    // each lane sums n/4 terms in order, four such sums are then added: (n/4 + 3)·2^-24 relative to Σ|q·k|
                    assertEquals(want * scale, scores[1 + j], ((n + 3) / 4 + 3) * 0x1p-24 * mag * scale + 1e-30, "score " + j + ", n " + n + ", count " + count);
                }
                for (int j = 1 + count; j < scores.length; j++) {
                    assertEquals(Float.NaN, scores[j], "past the count, " + j);
                }
                assertEquals(Float.NaN, scores[0], "before the row");
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

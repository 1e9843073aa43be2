package io.nashswarm.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Greedy decoding's {@link Sampler#argmax} (a vector maximum, then the first index holding it) against the plain scan
 * written out here: the first index of the largest value, NaNs after the first element skipped. Lengths around the
 * vector length, the maximum in the scalar tail, ties, infinities, signed zeros and NaNs. Sampling's candidates (the
 * k largest logits) and its draws against the sampler as it was before they came from a heap of longs: every id sorted
 * as boxed Integers by {@link Float#compare}, stably, written out here.
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

    @Test
    void largestAreTheFirstOfAStableSortDescending() {
        Random rnd = new Random(12);
        float[] special = {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -0f, 0f, -3f};
        for (int n : new int[] {1, 2, 3, 7, 40, 41, 100, 1000}) {
            for (int trial = 0; trial < 100; trial++) {
                float[] x = logits(rnd, n, trial, special);
                Integer[] sorted = stableOrder(x);
                for (int k : new int[] {1, 2, 5, 40, n - 1, n, n + 3}) {
                    if (k < 1) {
                        continue;
                    }
                    int[] got = Sampler.largest(x, k);
                    assertEquals(Math.min(k, n), got.length);
                    for (int i = 0; i < got.length; i++) {
                        assertEquals((int) sorted[i], got[i], "candidate " + i + " of k = " + k + " in " + java.util.Arrays.toString(x));
                    }
                }
            }
        }
    }

    @Test
    void samplesAsTheBoxedSortDid() {
        Random rnd = new Random(13);
        float[] special = {-0f, 0f, 5f};
        for (int n : new int[] {1, 2, 17, 300, 50257}) {
            for (int trial = 0; trial < (n > 1000 ? 3 : 40); trial++) {
                float[] x = logits(rnd, n, trial, special);
                float temperature = new float[] {0.3f, 0.8f, 1f, 2f}[trial % 4];
                int topK = new int[] {0, 1, 40, n}[(trial / 4) % 4];
                float topP = new float[] {1f, 0.95f, 0.5f}[trial % 3];
                long seed = rnd.nextLong();
                Sampler s = new Sampler(temperature, topK, topP, seed);
                java.util.SplittableRandom ref = new java.util.SplittableRandom(seed);
                for (int draw = 0; draw < (n > 1000 ? 20 : 50); draw++) {
                    assertEquals(reference(x, temperature, topK, topP, ref), s.sample(x),
                            "draw " + draw + " of n = " + n + ", T = " + temperature + ", top-k " + topK + ", top-p " + topP);
                }
            }
        }
    }

    /** Gaussian logits (even trials) or small integers with many ties (odd ones), some special values planted. */
    private static float[] logits(Random rnd, int n, int trial, float[] special) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = trial % 2 == 0 ? (float) (3 * rnd.nextGaussian()) : rnd.nextInt(6);
        }
        for (int p = 0; p < trial % 4; p++) {
            x[rnd.nextInt(n)] = special[rnd.nextInt(special.length)];
        }
        return x;
    }

    private static Integer[] stableOrder(float[] x) {
        Integer[] order = new Integer[x.length];
        for (int i = 0; i < x.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(x[b], x[a]));
        return order;
    }

    /** The sampler before 2026-12-05 (thirtieth pass), written out: softmax over the stably sorted top k, then top-p. */
    private static int reference(float[] logits, float temperature, int topK, float topP, java.util.SplittableRandom random) {
        Integer[] order = stableOrder(logits);
        int n = logits.length, k = topK == 0 ? n : Math.min(topK, n);
        double max = logits[order[0]], sum = 0;
        double[] p = new double[k];
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / temperature);
            sum += p[i];
        }
        int keep = k;
        if (topP < 1f) {
            double acc = 0;
            for (int i = 0; i < k; i++) {
                acc += p[i] / sum;
                if (acc >= topP) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            r -= p[i];
            if (r <= 0) {
                return order[i];
            }
        }
        return order[keep - 1];
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

package io.nashswarm.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class NormalFloat4Test {
    /** The NF4 values published with QLoRA (paper appendix; bitsandbytes' NF4 table), float32. */
    private static final double[] PUBLISHED = {
            -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
            -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
            0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
            0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};

    @Test
    void codebookFromNormalQuantilesMatchesPublishedValues() {
        float[] t = NormalFloat4.codebook();
        assertEquals(16, t.length);
        for (int i = 0; i < 16; i++) {
            assertEquals(PUBLISHED[i], t[i], 1e-6, "NF4 value " + i);
        }
    }

    @Test
    void nearestPicksClosestValue() {
        float[] t = NormalFloat4.codebook();
        java.util.Random rnd = new java.util.Random(3);
        for (int k = 0; k < 10_000; k++) {
            float v = rnd.nextFloat() * 2.2f - 1.1f;
            int best = 0;
            for (int i = 1; i < 16; i++) {
                if (Math.abs(v - t[i]) < Math.abs(v - t[best])) {
                    best = i;
                }
            }
            assertEquals(Math.abs(v - t[best]), Math.abs(v - t[NormalFloat4.nearest(v)]), 0f, "v=" + v);
        }
        assertEquals(7, NormalFloat4.nearest(0f));
        assertEquals(0, NormalFloat4.nearest(-1f));
        assertEquals(15, NormalFloat4.nearest(1f));
    }
}

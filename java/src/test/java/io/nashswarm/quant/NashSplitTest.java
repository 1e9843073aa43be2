package io.nashswarm.quant;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class NashSplitTest {
    @Test
    void splitCountsAreExactAndAddUp() {
        assertArrayEquals(new long[] {10, 20, 70}, NashSplit.SEEDS.counts(100));
        assertArrayEquals(new long[] {100, 200, 700}, NashSplit.SEEDS.counts(1000));
        // 64 groups: 6.4 → 6 at 8 bits, 19.2 → 19 cumulative → 13 at 4 bits... the three always add up to n.
        long[] c = NashSplit.SEEDS.counts(64);
        assertArrayEquals(new long[] {6, 13, 45}, c);
        for (int n = 0; n < 300; n++) {
            long[] k = NashSplit.parse("15/35/50").counts(n);
            assertEquals(n, k[0] + k[1] + k[2]);
            assertTrue(Math.abs(k[0] - 0.15 * n) <= 0.5 + 1e-9 && Math.abs(k[0] + k[1] - 0.5 * n) <= 0.5 + 1e-9, "n=" + n);
        }
        assertEquals(3.0, NashSplit.SEEDS.codeBits(), 1e-12);
    }

    @Test
    void assignmentRespectsImportanceOrder() {
        Random rnd = new Random(4);
        float[] imp = new float[1000];
        for (int i = 0; i < imp.length; i++) {
            imp[i] = (float) Math.abs(rnd.nextGaussian());
        }
        imp[17] = imp[18]; // a tie
        byte[] w = NashSplit.SEEDS.assign(imp);
        int[] count = new int[9];
        float min8 = Float.MAX_VALUE, max4 = 0, min4 = Float.MAX_VALUE, max2 = 0;
        for (int i = 0; i < w.length; i++) {
            count[w[i]]++;
            switch (w[i]) {
                case 8 -> min8 = Math.min(min8, imp[i]);
                case 4 -> {
                    max4 = Math.max(max4, imp[i]);
                    min4 = Math.min(min4, imp[i]);
                }
                default -> max2 = Math.max(max2, imp[i]);
            }
        }
        assertEquals(100, count[8]);
        assertEquals(200, count[4]);
        assertEquals(700, count[2]);
        assertTrue(min8 >= max4 && min4 >= max2, "a less important item got more bits");
    }

    @Test
    void tilesOfSixteenRowsGetOneWidthInImportanceOrder() {
        int rows = 100, gpr = 7; // 7 tiles of 16 rows, the last of 4 rows
        Random rnd = new Random(9);
        float[] imp = new float[rows * gpr];
        for (int i = 0; i < imp.length; i++) {
            imp[i] = (float) Math.abs(rnd.nextGaussian()) * (1 + i % gpr);
        }
        byte[] w = NashSplit.SEEDS.assignTiles(imp, rows, gpr);
        double[] mean = new double[7 * gpr];
        int[] count = new int[9];
        for (int i = 0; i < w.length; i++) {
            int r = i / gpr, t = r / 16 * gpr + i % gpr;
            assertEquals(w[(r / 16 * 16) * gpr + i % gpr], w[i], "row " + r + " group " + i % gpr + " differs from its tile");
            mean[t] += imp[i] / Math.min(16, rows - r / 16 * 16);
            count[w[i]]++;
        }
        // Whole tiles: each share is the nearest whole number of tiles (within half a tile of 16 rows).
        long[] c = NashSplit.SEEDS.counts(w.length);
        assertTrue(Math.abs(count[8] - c[0]) <= 8, "8-bit groups " + count[8] + " for " + c[0]);
        assertTrue(Math.abs(count[8] + count[4] - c[0] - c[1]) <= 8, "8- and 4-bit groups " + (count[8] + count[4]) + " for " + (c[0] + c[1]));
        for (int a = 0; a < mean.length; a++) {
            for (int b = 0; b < mean.length; b++) {
                int wa = w[(a / gpr) * 16 * gpr + a % gpr], wb = w[(b / gpr) * 16 * gpr + b % gpr];
                assertFalse(wa > wb && mean[a] < mean[b] - 1e-6, "tile " + a + " (" + mean[a] + ") got more bits than tile " + b + " (" + mean[b] + ")");
            }
        }
    }

    @Test
    void tiesGoToTheLowerIndex() {
        byte[] w = new NashSplit(50, 0, 50).assign(new float[] {1, 1, 1, 1});
        assertArrayEquals(new byte[] {8, 8, 2, 2}, w);
    }

    @Test
    void badSplitsAreRefused() {
        assertThrows(EngineException.class, () -> NashSplit.parse("10/20"));
        assertThrows(EngineException.class, () -> NashSplit.parse("10/20/60"));
        assertThrows(EngineException.class, () -> NashSplit.parse("a/b/c"));
        assertThrows(EngineException.class, () -> NashSplit.parse("-10/40/70"));
        assertEquals(new NashSplit(10, 20, 70), NashSplit.parse(" 10 / 20 / 70 "));
        assertThrows(EngineException.class, () -> NashSplit.SEEDS.assign(new float[] {1, Float.NaN}));
    }
}

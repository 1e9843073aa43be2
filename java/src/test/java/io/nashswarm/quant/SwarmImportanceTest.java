package io.nashswarm.quant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SwarmImportanceTest {
    /** Brute-force float64 box mean of |w| over the clipped (2R+1)² window. */
    static double boxMean(float[][] w, int r, int c, int radius) {
        double s = 0;
        int n = 0;
        for (int i = r - radius; i <= r + radius; i++) {
            for (int j = c - radius; j <= c + radius; j++) {
                if (i >= 0 && i < w.length && j >= 0 && j < w[0].length) {
                    s += Math.abs(w[i][j]);
                    n++;
                }
            }
        }
        return s / n;
    }

    @Test
    void radiusZeroIsPlainMagnitude() {
        float[][] w = TinyModels.gaussian(13, 64, 1.0, 1);
        float[] imp = SwarmImportance.perWeight(RowSource.of(w), 0);
        for (int r = 0; r < 13; r++) {
            for (int c = 0; c < 64; c++) {
                assertEquals(Math.abs(w[r][c]), imp[r * 64 + c], 0f);
            }
        }
    }

    @Test
    void smoothingIsTheClippedBoxMean() {
        float[][] w = TinyModels.gaussian(11, 96, 0.3, 2);
        for (int radius : new int[] {1, 2, 5, 20}) {
            float[] imp = SwarmImportance.perWeight(RowSource.of(w), radius);
            for (int r = 0; r < 11; r++) {
                for (int c = 0; c < 96; c++) {
                    assertEquals(boxMean(w, r, c, radius), imp[r * 96 + c], 1e-6, "radius " + radius + " at " + r + "," + c);
                }
            }
            float[] groups = SwarmImportance.groupMeans(RowSource.of(w), radius, 32);
            for (int r = 0; r < 11; r++) {
                for (int gi = 0; gi < 3; gi++) {
                    double s = 0;
                    for (int c = gi * 32; c < gi * 32 + 32; c++) {
                        s += boxMean(w, r, c, radius);
                    }
                    assertEquals(s / 32, groups[r * 3 + gi], 1e-6);
                }
            }
        }
    }
}

package io.nashswarm.quant;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class CholeskyTest {
    /**
     * U from {@link Cholesky#upperOfInverseInPlace} is upper triangular with a positive diagonal and {@code UᵀU·H = I}
     * (checked in float64 by plain loops), at sizes below, at and across the 128-column blocks.
     */
    @Test
    void upperFactorOfTheInverse() {
        for (int n : new int[] {1, 2, 7, 127, 128, 129, 300}) {
            double[] h = spd(n, n);
            double[] u = h.clone();
            Cholesky.upperOfInverseInPlace(u, n);
            for (int i = 0; i < n; i++) {
                assertTrue(u[i * n + i] > 0, "diagonal " + i + " of n=" + n);
                for (int j = 0; j < i; j++) {
                    assertEquals(0.0, u[i * n + j], "below the diagonal at " + i + "," + j + " of n=" + n);
                }
            }
            double[] inv = new double[n * n]; // UᵀU
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k <= Math.min(i, j); k++) {
                        s += u[k * n + i] * u[k * n + j];
                    }
                    inv[i * n + j] = s;
                }
            }
            double worst = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) {
                        s += inv[i * n + k] * h[k * n + j];
                    }
                    worst = Math.max(worst, Math.abs(s - (i == j ? 1 : 0)));
                }
            }
            // H's condition number is about 1e3 here; float64 leaves ~1e-13 of it
            assertTrue(worst < 1e-9, "n=" + n + ": max |UᵀU·H − I| = " + worst);
        }
    }

    @Test
    void notPositiveDefiniteIsRefusedWithTheColumn() {
        int n = 200;
        double[] h = spd(n, n);
        h[150 * n + 150] = -1; // a negative pivot in the second block
        EngineException e = assertThrows(EngineException.class, () -> Cholesky.upperOfInverseInPlace(h, n));
        assertTrue(e.getMessage().contains("not positive definite"), e.getMessage());
    }

    /** XᵀX/m + 0.01·I of m random correlated rows. */
    static double[] spd(int n, int m) {
        Random rnd = new Random(n);
        double[] x = new double[m * n];
        for (int t = 0; t < m; t++) {
            double f = rnd.nextGaussian();
            for (int i = 0; i < n; i++) {
                x[t * n + i] = 0.5 * f + rnd.nextGaussian() * (0.2 + (i % 5) * 0.3);
            }
        }
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < m; t++) {
                    s += x[t * n + i] * x[t * n + j];
                }
                h[i * n + j] = s / m + (i == j ? 0.01 : 0);
            }
        }
        return h;
    }
}

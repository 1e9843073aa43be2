package io.nashswarm.quant;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class DoubleMatricesTest {
    /** {@code C −= A·B} against the triple loop, on sizes that leave partial tiles, strips and blocks, inside larger arrays. */
    @Test
    void multiplySubtractMatchesTheTripleLoop() {
        Random rnd = new Random(5);
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {4, 32, 128}, {5, 33, 129}, {37, 515, 131}, {8, 1030, 260}, {64, 96, 1}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2], ldc = n + 3, lda = k + 2, ldb = n + 5, cOff = 7, aOff = 3, bOff = 11;
            double[] c = random(rnd, cOff + m * ldc), a = random(rnd, aOff + m * lda), b = random(rnd, bOff + k * ldb);
            double[] want = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int t = 0; t < k; t++) {
                        sum += a[aOff + i * lda + t] * b[bOff + t * ldb + j];
                    }
                    want[cOff + i * ldc + j] -= sum;
                }
            }
            double[] c2 = c.clone(), bt = new double[bOff + n * (k + 4)]; // bt: B transposed, row stride k + 4
            for (int t = 0; t < k; t++) {
                for (int j = 0; j < n; j++) {
                    bt[bOff + j * (k + 4) + t] = b[bOff + t * ldb + j];
                }
            }
            DoubleMatrices.multiplySubtract(c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, n, k);
            DoubleMatrices.multiplySubtractTransposed(c2, cOff, ldc, a, aOff, lda, bt, bOff, k + 4, m, n, k);
            for (int i = 0; i < c.length; i++) {
                // outside C (padding, the gaps between rows) nothing may change; inside, sums of k terms of size ≤ 1
                assertEquals(want[i], c[i], 1e-13 * (k + 1), "m=" + m + " n=" + n + " k=" + k + " at " + i);
                assertEquals(c[i], c2[i], 0.0, "B given transposed: the same products in the same order, m=" + m + " n=" + n + " k=" + k);
            }
        }
    }

    @Test
    void packedTransposeIsThePackOfTheTranspose() {
        Random rnd = new Random(6);
        int k = 19, n = 45, lda = 23;
        double[] a = random(rnd, n * lda), t = new double[k * n];
        for (int c = 0; c < n; c++) {
            for (int j = 0; j < k; j++) {
                t[j * n + c] = a[c * lda + j];
            }
        }
        double[] want = new double[DoubleMatrices.packedSize(k, n)], got = new double[want.length];
        java.util.Arrays.fill(got, Double.NaN); // the padding must be written too
        DoubleMatrices.pack(t, 0, n, k, n, want);
        DoubleMatrices.packTransposed(a, 0, lda, k, n, got);
        assertArrayEquals(want, got);
    }

    /** {@code s += xᵀ·y} against float64 loops; with {@code upper}, at least the upper triangle (what callers read). */
    @Test
    void transposedProductAddsTheGramMatrix() {
        Random rnd = new Random(7);
        for (int[] shape : new int[][] {{1, 1}, {5, 3}, {33, 130}, {70, 257}}) {
            int n = shape[0], cols = shape[1];
            float[] x = new float[n * cols], y = new float[n * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
                y[i] = (float) rnd.nextGaussian();
            }
            for (boolean upper : new boolean[] {false, true}) {
                double[] s = random(rnd, cols * cols), start = s.clone();
                DoubleMatrices.addTransposedProduct(s, x, y, n, cols, upper);
                for (int i = 0; i < cols; i++) {
                    for (int j = upper ? i : 0; j < cols; j++) {
                        double want = start[i * cols + j];
                        for (int t = 0; t < n; t++) {
                            want += (double) x[t * cols + i] * y[t * cols + j];
                        }
                        assertEquals(want, s[i * cols + j], 1e-12 * (n + 1) * 10, "n=" + n + " cols=" + cols + " at " + i + "," + j);
                    }
                }
            }
        }
    }

    private static double[] random(Random rnd, int size) {
        double[] x = new double[size];
        for (int i = 0; i < size; i++) {
            x[i] = rnd.nextDouble() * 2 - 1;
        }
        return x;
    }
}

package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float64 factorization GPTQ needs: the upper Cholesky factor U of H⁻¹ ({@code H⁻¹ = UᵀU}), in
 * one Cholesky and one triangular inverse, without forming H⁻¹.
 *
 * <p>Why that works: with J the index reversal, factor {@code J·H·J = L·Lᵀ} (L lower). Then
 * {@code H = V·Vᵀ} with {@code V = J·L·J} upper, so {@code H⁻¹ = V⁻ᵀ·V⁻¹} and {@code U = V⁻¹ = J·L⁻¹·J}
 * is upper with a positive diagonal, hence THE Cholesky factor of H⁻¹. On a row-major array, J·A·J is
 * the array reversed, so everything happens in place in one n² buffer.
 *
 * <p>Both steps are row-oriented and work on blocks of rows, so that each earlier row is read once per
 * block (from cache) rather than once per row; the rows of a block are split across threads.
 */
public final class Cholesky {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int BLOCK = 64;

    private Cholesky() {}

    /**
     * Replaces {@code a} (n×n, symmetric positive definite, row-major) by the upper Cholesky factor of
     * its inverse (entries below the diagonal become 0).
     *
     * @throws EngineException when {@code a} is not positive definite (a pivot ≤ 0 or not finite)
     */
    public static void upperOfInverseInPlace(double[] a, int n) {
        reverse(a);
        lowerInPlace(a, n);
        lowerInverseInPlace(a, n);
        reverse(a);
    }

    /** Lower Cholesky factor in place (upper triangle zeroed). */
    static void lowerInPlace(double[] a, int n) {
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int i1 = Math.min(n, i0 + BLOCK), b0 = i0;
            // Entries left of the block's diagonal square depend only on finished rows: rows split across threads.
            Parallel.forRange(i1 - i0, 1, (s, e) -> {
                for (int j = 0; j < b0; j++) {
                    double d = a[j * n + j];
                    for (int i = b0 + s; i < b0 + e; i++) {
                        a[i * n + j] = (a[i * n + j] - dot(a, i * n, j * n, j)) / d;
                    }
                }
            });
            for (int i = i0; i < i1; i++) {
                for (int j = i0; j <= i; j++) {
                    double v = a[i * n + j] - dot(a, i * n, j * n, j);
                    if (j < i) {
                        a[i * n + j] = v / a[j * n + j];
                    } else {
                        if (!(v > 0) || Double.isInfinite(v)) {
                            throw new EngineException("the Hessian is not positive definite (pivot " + v + " at column " + (n - 1 - i)
                                    + " of " + n + "); raise the dampening or give more calibration text");
                        }
                        a[i * n + i] = Math.sqrt(v);
                    }
                }
                java.util.Arrays.fill(a, i * n + i + 1, i * n + n, 0.0);
            }
        }
    }

    /** Inverse of a lower-triangular matrix, in place: row i of L⁻¹ is −(Σ_{k<i} L[i][k]·row k of L⁻¹) / L[i][i]. */
    static void lowerInverseInPlace(double[] a, int n) {
        double[] acc = new double[BLOCK * n];
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int i1 = Math.min(n, i0 + BLOCK), b0 = i0;
            java.util.Arrays.fill(acc, 0.0);
            // Finished rows k < i0 (already replaced by rows of L⁻¹) into every row of the block.
            Parallel.forRange(i1 - i0, 1, (s, e) -> {
                for (int k = 0; k < b0; k++) {
                    for (int i = b0 + s; i < b0 + e; i++) {
                        axpy(a[i * n + k], a, k * n, acc, (i - b0) * n, k + 1);
                    }
                }
            });
            for (int i = i0; i < i1; i++) {
                int r = (i - i0) * n;
                for (int k = i0; k < i; k++) {
                    axpy(a[i * n + k], a, k * n, acc, r, k + 1);
                }
                double inv = 1 / a[i * n + i];
                for (int j = 0; j < i; j++) {
                    a[i * n + j] = -acc[r + j] * inv;
                }
                a[i * n + i] = inv;
            }
        }
    }

    private static double dot(double[] a, int x, int y, int len) {
        DoubleVector s0 = DoubleVector.zero(S), s1 = DoubleVector.zero(S);
        int l = S.length(), k = 0;
        for (; k + 2 * l <= len; k += 2 * l) {
            s0 = DoubleVector.fromArray(S, a, x + k).fma(DoubleVector.fromArray(S, a, y + k), s0);
            s1 = DoubleVector.fromArray(S, a, x + k + l).fma(DoubleVector.fromArray(S, a, y + k + l), s1);
        }
        double sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; k < len; k++) {
            sum += a[x + k] * a[y + k];
        }
        return sum;
    }

    private static void axpy(double alpha, double[] x, int xOff, double[] y, int yOff, int len) {
        if (alpha == 0) {
            return;
        }
        for (int k = 0; k < len; k++) {
            y[yOff + k] += alpha * x[xOff + k];
        }
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

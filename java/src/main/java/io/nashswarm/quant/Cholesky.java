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
 * <p>Both steps work by blocks of 128, so that almost all their work is one matrix product per block
 * ({@link DoubleMatrices}), at the speed of its register tile rather than of dot products.
 */
public final class Cholesky {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int BLOCK = DoubleMatrices.KC;

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

    /**
     * Lower Cholesky factor in place (upper triangle zeroed), by blocks of {@value #BLOCK} columns: factor the
     * diagonal block, solve the panel below it, then subtract the panel's product with itself from the lower
     * triangle to its right ({@link DoubleMatrices}, rows split across threads). Reads only the lower triangle.
     */
    static void lowerInPlace(double[] a, int n) {
        double[] pack = new double[DoubleMatrices.packedSize(BLOCK, n)];
        for (int k0 = 0; k0 < n; k0 += BLOCK) {
            int k1 = Math.min(n, k0 + BLOCK), b0 = k0;
            for (int i = k0; i < k1; i++) {
                for (int j = k0; j <= i; j++) {
                    double v = a[i * n + j] - dot(a, i * n + k0, j * n + k0, j - k0);
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
            }
            if (k1 == n) {
                break;
            }
            Parallel.forRange(n - k1, 1, (s, e) -> {
                for (int i = k1 + s; i < k1 + e; i++) {
                    for (int j = b0; j < k1; j++) {
                        a[i * n + j] = (a[i * n + j] - dot(a, i * n + b0, j * n + b0, j - b0)) / a[j * n + j];
                    }
                }
            });
            DoubleMatrices.packTransposed(a, k1 * n + k0, n, k1 - k0, n - k1, pack);
            int blocks = (n - k1 + ROWS - 1) / ROWS, threads = Parallel.threads();
            Parallel.forRange(threads, 1, (s, e) -> { // row blocks dealt round-robin: later ones have more columns
                for (int t = s; t < e; t++) {
                    for (int rb = t; rb < blocks; rb += threads) {
                        int r0 = k1 + rb * ROWS, r1 = Math.min(n, r0 + ROWS);
                        DoubleMatrices.multiplySubtractPacked(a, r0 * n + k1, n, a, r0 * n + b0, n, pack, r1 - r0, r1 - k1, k1 - b0);
                    }
                }
            });
        }
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(a, i * n + i + 1, i * n + n, 0.0);
        }
    }

    /**
     * Inverse of a lower-triangular matrix, in place, by blocks of rows: row i of L⁻¹ is
     * {@code −(Σ_{k<i} L[i][k]·row k of L⁻¹) / L[i][i]}. The finished rows' share is one product per block
     * ({@link DoubleMatrices}; column chunks split across threads, each from the first row k where L⁻¹ is nonzero
     * in it), the block's own rows follow one by one.
     */
    static void lowerInverseInPlace(double[] a, int n) {
        double[] acc = new double[BLOCK * n];
        for (int i0 = 0; i0 < n; i0 += BLOCK) {
            int i1 = Math.min(n, i0 + BLOCK), b0 = i0, chunks = (i0 + CHUNK - 1) / CHUNK, threads = Parallel.threads();
            java.util.Arrays.fill(acc, 0.0);
            // acc[:, 0:i0] = −L[block, 0:i0]·X[0:i0, 0:i0], X = the finished rows of L⁻¹ (zero right of the diagonal)
            Parallel.forRange(threads, 1, (s, e) -> {
                for (int t = s; t < e; t++) {
                    for (int c = t; c < chunks; c += threads) {
                        int c0 = c * CHUNK, c1 = Math.min(b0, c0 + CHUNK);
                        DoubleMatrices.multiplySubtract(acc, c0, n, a, b0 * n + c0, n, a, c0 * n + c0, n, i1 - b0, c1 - c0, b0 - c0);
                    }
                }
            });
            for (int i = i0; i < i1; i++) {
                int r = (i - i0) * n;
                for (int k = i0; k < i; k++) {
                    subtractScaled(a[i * n + k], a, k * n, acc, r, k + 1);
                }
                double inv = 1 / a[i * n + i];
                for (int j = 0; j < i; j++) {
                    a[i * n + j] = acc[r + j] * inv;
                }
                a[i * n + i] = inv;
            }
        }
    }

    /** Columns per task of {@link #lowerInverseInPlace}'s product, rows per task of the Cholesky's update. */
    private static final int CHUNK = 256, ROWS = 64;

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

    /** {@code y[yOff + k] −= alpha·x[xOff + k]} for k < len. */
    private static void subtractScaled(double alpha, double[] x, int xOff, double[] y, int yOff, int len) {
        if (alpha == 0) {
            return;
        }
        DoubleVector va = DoubleVector.broadcast(S, alpha);
        int l = S.length(), k = 0;
        for (; k + l <= len; k += l) {
            DoubleVector.fromArray(S, y, yOff + k).sub(DoubleVector.fromArray(S, x, xOff + k).mul(va)).intoArray(y, yOff + k);
        }
        for (; k < len; k++) {
            y[yOff + k] -= alpha * x[xOff + k];
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

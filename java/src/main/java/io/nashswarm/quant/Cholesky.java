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
            // Four finished rows j at a time against each row i, so that row i (far in memory) is read once per four.
            Parallel.forRange(i1 - i0, 1, (s, e) -> {
                double[] d4 = new double[4];
                int j = 0;
                for (; j + 4 <= b0; j += 4) {
                    for (int i = b0 + s; i < b0 + e; i++) {
                        int ri = i * n;
                        dots1x4(a, ri, j * n, n, j, d4);
                        for (int jj = 0; jj < 4; jj++) {
                            int rj = (j + jj) * n;
                            double v = a[ri + j + jj] - d4[jj];
                            for (int k = j; k < j + jj; k++) {
                                v -= a[ri + k] * a[rj + k];
                            }
                            a[ri + j + jj] = v / a[rj + j + jj];
                        }
                    }
                }
                for (; j < b0; j++) {
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
            // Finished rows k < i0 (already replaced by rows of L⁻¹, zero right of k) into every row of the block:
            // column chunks that keep the block's accumulators in cache, four rows k per pass over them.
            Parallel.forRange(i1 - i0, 1, (s, e) -> {
                for (int c0 = 0; c0 < b0; c0 += CHUNK) {
                    int c1 = Math.min(b0, c0 + CHUNK);
                    for (int k = c0 & ~3; k < b0; k += 4) {
                        int nk = Math.min(4, b0 - k);
                        for (int i = b0 + s; i < b0 + e; i++) {
                            accumulate(a, n, i, k, nk, acc, (i - b0) * n, c0, c1);
                        }
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

    private static final int CHUNK = 512;

    /** {@code acc[r + c] += Σ_{kk<nk} a[i][k+kk]·a[k+kk][c]} for c in [c0, c1). */
    private static void accumulate(double[] a, int n, int i, int k, int nk, double[] acc, int r, int c0, int c1) {
        if (nk < 4) {
            for (int kk = 0; kk < nk; kk++) {
                double x = a[i * n + k + kk];
                if (x != 0) {
                    for (int c = c0; c < c1; c++) {
                        acc[r + c] += x * a[(k + kk) * n + c];
                    }
                }
            }
            return;
        }
        int ra = i * n + k, l0 = k * n, l1 = l0 + n, l2 = l1 + n, l3 = l2 + n;
        double x0 = a[ra], x1 = a[ra + 1], x2 = a[ra + 2], x3 = a[ra + 3];
        DoubleVector v0 = DoubleVector.broadcast(S, x0), v1 = DoubleVector.broadcast(S, x1), v2 = DoubleVector.broadcast(S, x2),
                v3 = DoubleVector.broadcast(S, x3);
        int l = S.length(), c = c0;
        for (; c + l <= c1; c += l) {
            DoubleVector s = DoubleVector.fromArray(S, acc, r + c);
            s = DoubleVector.fromArray(S, a, l0 + c).fma(v0, s);
            s = DoubleVector.fromArray(S, a, l1 + c).fma(v1, s);
            s = DoubleVector.fromArray(S, a, l2 + c).fma(v2, s);
            s = DoubleVector.fromArray(S, a, l3 + c).fma(v3, s);
            s.intoArray(acc, r + c);
        }
        for (; c < c1; c++) {
            acc[r + c] += x0 * a[l0 + c] + x1 * a[l1 + c] + x2 * a[l2 + c] + x3 * a[l3 + c];
        }
    }

    /** {@code out[jj] = Σ_{k<len} a[x+k]·a[y + jj·n + k]} for four rows y, y+n, y+2n, y+3n. */
    private static void dots1x4(double[] a, int x, int y, int n, int len, double[] out) {
        DoubleVector s0 = DoubleVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int l = S.length(), k = 0, y1 = y + n, y2 = y1 + n, y3 = y2 + n;
        for (; k + l <= len; k += l) {
            DoubleVector v = DoubleVector.fromArray(S, a, x + k);
            s0 = v.fma(DoubleVector.fromArray(S, a, y + k), s0);
            s1 = v.fma(DoubleVector.fromArray(S, a, y1 + k), s1);
            s2 = v.fma(DoubleVector.fromArray(S, a, y2 + k), s2);
            s3 = v.fma(DoubleVector.fromArray(S, a, y3 + k), s3);
        }
        double r0 = s0.reduceLanes(VectorOperators.ADD), r1 = s1.reduceLanes(VectorOperators.ADD), r2 = s2.reduceLanes(VectorOperators.ADD),
                r3 = s3.reduceLanes(VectorOperators.ADD);
        for (; k < len; k++) {
            double v = a[x + k];
            r0 += v * a[y + k];
            r1 += v * a[y1 + k];
            r2 += v * a[y2 + k];
            r3 += v * a[y3 + k];
        }
        out[0] = r0;
        out[1] = r1;
        out[2] = r2;
        out[3] = r3;
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

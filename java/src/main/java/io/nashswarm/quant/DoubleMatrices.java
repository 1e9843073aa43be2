package io.nashswarm.quant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float64 matrix product under GPTQ's factorization, its lazy updates and the paired-input targets:
 * {@code C −= A·B} on row-major arrays (offset and row stride each), as BLAS does it.
 *
 * <p>B is copied ("packed") per block of {@value #KC} rows and {@value #NC} columns into strips of
 * {@code 4·L} columns (L doubles per vector), each strip's rows one after another. A strip of a block is 32 KB
 * at L = 8, so it stays in L1 while every four rows of A pass over it, and the copy reads B's rows once:
 * B's own rows stride by 2048–8192 doubles, a multiple of 4 KB, which maps them all to a few cache sets.
 * Four rows of C by four vectors live in registers across the block (four loads and four broadcasts feed
 * sixteen fused multiply-adds).
 */
final class DoubleMatrices {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length(), STRIP = 4 * L;
    static final int KC = 128, NC = 512;
    private static final ThreadLocal<double[]> PACK = ThreadLocal.withInitial(() -> new double[KC * NC]);

    private DoubleMatrices() {}

    /** {@code c[m×n] −= a[m×k]·b[k×n]}, each at its offset with its row stride. */
    static void multiplySubtract(double[] c, int cOff, int ldc, double[] a, int aOff, int lda, double[] b, int bOff, int ldb, int m, int n, int k) {
        multiplySubtract(c, cOff, ldc, a, aOff, lda, b, bOff, ldb, false, m, n, k);
    }

    /** {@code c[m×n] −= a[m×k]·bᵀ} for {@code b} n×k at its offset with its row stride (no transposed copy is made). */
    static void multiplySubtractTransposed(double[] c, int cOff, int ldc, double[] a, int aOff, int lda, double[] b, int bOff, int ldb, int m,
                                           int n, int k) {
        multiplySubtract(c, cOff, ldc, a, aOff, lda, b, bOff, ldb, true, m, n, k);
    }

    private static void multiplySubtract(double[] c, int cOff, int ldc, double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                                         boolean transposed, int m, int n, int k) {
        double[] pack = PACK.get();
        // Column chunks outside, so that C's chunk stays in cache over all of k
        for (int n0 = 0; n0 < n; n0 += NC) {
            int nc = Math.min(NC, n - n0);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                if (transposed) {
                    packTransposed(b, bOff + n0 * ldb + k0, ldb, kc, nc, pack);
                } else {
                    pack(b, bOff + k0 * ldb + n0, ldb, kc, nc, pack);
                }
                multiplySubtractPacked(c, cOff + n0, ldc, a, aOff + k0, lda, pack, m, nc, kc);
            }
        }
    }

    /**
     * {@code s += xᵀ·y} for n inputs ({@code x}, {@code y}: n×cols, row-major; s: cols×cols): with {@code upper}, only
     * the blocks of 128 rows from their diagonal block rightwards (callers read s's upper triangle); rows of s split
     * across threads. Calibration's Hessians and paired moments (x̃ᵀx̃, x̃ᵀx) are this product.
     */
    static void addTransposedProduct(double[] s, float[] x, float[] y, int n, int cols, boolean upper) {
        double[] at = new double[Math.multiplyExact(cols, n)], b = new double[Math.multiplyExact(n, cols)];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < cols; i++) {
                at[i * n + t] = -x[t * cols + i]; // −xᵀ, so that the product's "−=" adds
                b[t * cols + i] = y[t * cols + i];
            }
        }
        int blocks = (cols + KC - 1) / KC, threads = io.nashswarm.kernel.Parallel.threads();
        io.nashswarm.kernel.Parallel.forRange(threads, 1, (s0, e0) -> { // blocks round-robin: with upper, earlier ones are wider
            for (int t = s0; t < e0; t++) {
                for (int rb = t; rb < blocks; rb += threads) {
                    int i0 = rb * KC, i1 = Math.min(cols, i0 + KC), j0 = upper ? i0 : 0;
                    multiplySubtract(s, i0 * cols + j0, cols, at, i0 * n, n, b, j0, cols, i1 - i0, cols - j0, n);
                }
            }
        });
    }

    /** Doubles {@link #pack} writes for a k×n block. */
    static int packedSize(int k, int n) {
        return (n + STRIP - 1) / STRIP * STRIP * k;
    }

    /** {@code b[k×n]} into strips of {@code 4·L} columns (zero beyond n). */
    static void pack(double[] b, int bOff, int ldb, int k, int n, double[] out) {
        for (int c0 = 0, o = 0; c0 < n; c0 += STRIP, o += k * STRIP) {
            int w = Math.min(STRIP, n - c0);
            for (int j = 0; j < k; j++) {
                System.arraycopy(b, bOff + j * ldb + c0, out, o + j * STRIP, w);
                if (w < STRIP) {
                    java.util.Arrays.fill(out, o + j * STRIP + w, o + (j + 1) * STRIP, 0.0);
                }
            }
        }
    }

    /** The same for {@code B = Aᵀ}, {@code B[j][c] = a[aOff + c·lda + j]} (k×n from A's n×k). */
    static void packTransposed(double[] a, int aOff, int lda, int k, int n, double[] out) {
        java.util.Arrays.fill(out, 0, packedSize(k, n), 0.0);
        for (int c = 0; c < n; c++) {
            int o = c / STRIP * k * STRIP + c % STRIP, src = aOff + c * lda;
            for (int j = 0; j < k; j++) {
                out[o + j * STRIP] = a[src + j];
            }
        }
    }

    /** {@code c[m×n] −= a[m×k]·B} with B {@link #pack packed} as k×n. */
    static void multiplySubtractPacked(double[] c, int cOff, int ldc, double[] a, int aOff, int lda, double[] bp, int m, int n, int k) {
        for (int c0 = 0, bo = 0; c0 < n; c0 += STRIP, bo += k * STRIP) {
            int r = 0;
            if (n - c0 >= STRIP) {
                for (; r + 4 <= m; r += 4) {
                    tile(c, cOff + r * ldc + c0, ldc, a, aOff + r * lda, lda, bp, bo, k);
                }
            }
            for (; r < m; r++) {
                row(c, cOff + r * ldc + c0, a, aOff + r * lda, bp, bo, k, Math.min(STRIP, n - c0));
            }
        }
    }

    /** Four rows by one strip, in sixteen accumulators. */
    private static void tile(double[] c, int co, int ldc, double[] a, int ao, int lda, double[] bp, int bo, int k) {
        DoubleVector z = DoubleVector.zero(S);
        DoubleVector c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
        DoubleVector c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
        int a0 = ao, a1 = ao + lda, a2 = a1 + lda, a3 = a2 + lda;
        for (int j = 0; j < k; j++) {
            int bj = bo + j * STRIP;
            DoubleVector b0 = DoubleVector.fromArray(S, bp, bj), b1 = DoubleVector.fromArray(S, bp, bj + L),
                    b2 = DoubleVector.fromArray(S, bp, bj + 2 * L), b3 = DoubleVector.fromArray(S, bp, bj + 3 * L);
            DoubleVector x = DoubleVector.broadcast(S, a[a0 + j]);
            c00 = b0.fma(x, c00);
            c01 = b1.fma(x, c01);
            c02 = b2.fma(x, c02);
            c03 = b3.fma(x, c03);
            x = DoubleVector.broadcast(S, a[a1 + j]);
            c10 = b0.fma(x, c10);
            c11 = b1.fma(x, c11);
            c12 = b2.fma(x, c12);
            c13 = b3.fma(x, c13);
            x = DoubleVector.broadcast(S, a[a2 + j]);
            c20 = b0.fma(x, c20);
            c21 = b1.fma(x, c21);
            c22 = b2.fma(x, c22);
            c23 = b3.fma(x, c23);
            x = DoubleVector.broadcast(S, a[a3 + j]);
            c30 = b0.fma(x, c30);
            c31 = b1.fma(x, c31);
            c32 = b2.fma(x, c32);
            c33 = b3.fma(x, c33);
        }
        // Stored here, not through a helper taking vectors: a call C2 does not inline boxes them, inside the loop too.
        int o = co;
        DoubleVector.fromArray(S, c, o).sub(c00).intoArray(c, o);
        DoubleVector.fromArray(S, c, o + L).sub(c01).intoArray(c, o + L);
        DoubleVector.fromArray(S, c, o + 2 * L).sub(c02).intoArray(c, o + 2 * L);
        DoubleVector.fromArray(S, c, o + 3 * L).sub(c03).intoArray(c, o + 3 * L);
        o += ldc;
        DoubleVector.fromArray(S, c, o).sub(c10).intoArray(c, o);
        DoubleVector.fromArray(S, c, o + L).sub(c11).intoArray(c, o + L);
        DoubleVector.fromArray(S, c, o + 2 * L).sub(c12).intoArray(c, o + 2 * L);
        DoubleVector.fromArray(S, c, o + 3 * L).sub(c13).intoArray(c, o + 3 * L);
        o += ldc;
        DoubleVector.fromArray(S, c, o).sub(c20).intoArray(c, o);
        DoubleVector.fromArray(S, c, o + L).sub(c21).intoArray(c, o + L);
        DoubleVector.fromArray(S, c, o + 2 * L).sub(c22).intoArray(c, o + 2 * L);
        DoubleVector.fromArray(S, c, o + 3 * L).sub(c23).intoArray(c, o + 3 * L);
        o += ldc;
        DoubleVector.fromArray(S, c, o).sub(c30).intoArray(c, o);
        DoubleVector.fromArray(S, c, o + L).sub(c31).intoArray(c, o + L);
        DoubleVector.fromArray(S, c, o + 2 * L).sub(c32).intoArray(c, o + 2 * L);
        DoubleVector.fromArray(S, c, o + 3 * L).sub(c33).intoArray(c, o + 3 * L);
    }

    /** One row by the first {@code w} columns of a strip (the rows left over, and a last narrow strip). */
    private static void row(double[] c, int co, double[] a, int ao, double[] bp, int bo, int k, int w) {
        for (int v = 0; v * L < w; v++) {
            DoubleVector acc = DoubleVector.zero(S);
            for (int j = 0; j < k; j++) {
                acc = DoubleVector.fromArray(S, bp, bo + j * STRIP + v * L).fma(DoubleVector.broadcast(S, a[ao + j]), acc);
            }
            VectorMask<Double> in = S.indexInRange(v * L, w);
            DoubleVector.fromArray(S, c, co + v * L, in).sub(acc).intoArray(c, co + v * L, in);
        }
    }
}

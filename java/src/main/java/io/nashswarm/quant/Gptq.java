package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.util.Progress;

import java.util.Arrays;

/**
 * GPTQ (Frantar et al. 2022): rounds a matrix one input column at a time and, after each column, moves
 * the rounding error onto the columns not yet rounded, weighted by the inverse Hessian of the layer's
 * squared output error, so that the output {@code W·x} on calibration inputs changes least.
 *
 * <p>Per row, with U the upper Cholesky factor of {@code (H + λI)⁻¹} ({@link Cholesky}): for column j,
 * {@code q = round(w_j)}, {@code e = (w_j − q) / U_jj}, {@code w_k −= e·U_jk} for every k > j. Updates
 * inside a block of columns are applied at once; those beyond the block are applied once per block
 * (GPTQ's lazy batch), for a whole tile of rows, so each row of U is read from cache. Everything is
 * float64; a weight is rounded from its float32 value, exactly as the round-to-nearest quantizers do,
 * which makes GPTQ with an identity Hessian identical to them.
 *
 * <p>Groups: a group's scale and zero are chosen from its current (already compensated) weights when
 * the sweep reaches its first column (blocks are whole numbers of groups, so those weights are
 * final). With act-order the columns go by decreasing H_jj, a group's columns are scattered, and its
 * parameters are fixed up front from the original weights ("static groups"), since the storage keeps
 * one scale per group of consecutive columns.
 *
 * <p>Dead inputs (H_jj = 0, e.g. padding columns) get H_jj = 1: they are rounded to nearest and pass no
 * error on. The matrix is not changed otherwise.
 */
public final class Gptq {
    private static final int ROW_TILE = 32;
    private static final int COL_CHUNK = 512;

    private Gptq() {}

    /**
     * @param damp      λ as a fraction of the mean diagonal of H (GPTQ's percdamp; 0.01 by default)
     * @param actOrder  round columns by decreasing H_jj
     * @param blockSize columns per lazy-update block (rounded up to whole groups)
     * @param weightedScales a codec that searches its group parameters weighs each column's error by H_jj
     *                       (the output error a unit weight error there causes) instead of 1
     */
    public record Options(double damp, boolean actOrder, int blockSize, boolean weightedScales) {
        public Options {
            if (!(damp >= 0) || Double.isInfinite(damp)) {
                throw new EngineException("GPTQ dampening must be a fraction >= 0, got " + damp);
            }
            if (blockSize < 1) {
                throw new EngineException("GPTQ block size must be >= 1, got " + blockSize);
            }
        }

        public static Options defaults() {
            return new Options(0.01, false, 128, true);
        }
    }

    /** Width of the codes of each group: {@code bits(row, group)}. */
    @FunctionalInterface
    public interface Widths {
        int bits(int row, int group);

        static Widths uniform(int bits) {
            return (r, g) -> bits;
        }

        /** Row-major per-group widths of a mixed matrix. */
        static Widths of(byte[] widths, int groupsPerRow) {
            return (r, g) -> widths[r * groupsPerRow + g];
        }
    }

    /** The codes and group parameters GPTQ chose, in the original column order; replays them to a matrix writer. */
    public record Result(int rows, int cols, int group, GroupCodec codec, byte[] codes, float[] scales, int[] zeros) implements GroupCoder {
        public int code(int r, int c) {
            return codes[r * cols + c] & 0xFF;
        }

        public float scale(int r, int gi) {
            return scales[r * (cols / group) + gi];
        }

        public int zero(int r, int gi) {
            return zeros[r * (cols / group) + gi];
        }

        /** The dequantized weight (r, c). */
        public double value(int r, int c) {
            return codec.value(code(r, c), scale(r, c / group), zero(r, c / group));
        }

        @Override
        public GroupQuantizer.Result code(int row, int gi, float[] w, int off, int n, int bits, int[] out, int outOff) {
            if (n != group) {
                throw new IllegalArgumentException("GPTQ chose groups of " + group + ", the writer asks for " + n);
            }
            double err = 0;
            for (int i = 0; i < n; i++) {
                int c = gi * group + i;
                out[outOff + i] = code(row, c);
                double d = w[off + i] - value(row, c);
                err += d * d;
            }
            return new GroupQuantizer.Result(scale(row, gi), zero(row, gi), err);
        }
    }

    /**
     * Quantizes {@code src} (rows × cols) against the Hessian of its inputs.
     *
     * @param progress advanced by one per row when its sweep is done
     * @throws EngineException when H (after dampening) is not positive definite
     */
    public static Result quantize(RowSource src, Hessian hessian, GroupCodec codec, int group, Widths widths, Options o, Progress progress) {
        return quantize(src, factor(hessian, o), codec, group, widths, progress);
    }

    /**
     * What GPTQ needs of a Hessian, computed once for all matrices that share their input (q/k/v, gate/up):
     * the column order and U, the upper Cholesky factor of the dampened H⁻¹ in that order.
     */
    public record Factor(int cols, int[] perm, double[] u, float[] diag, Options options) {}

    /** @throws EngineException when H (after dampening) is not positive definite */
    public static Factor factor(Hessian hessian, Options o) {
        int cols = hessian.cols();
        // H: dead inputs, dampening, column order; then U = chol(H⁻¹) upper, all in one buffer.
        double[] u = hessian.h().clone();
        double mean = 0;
        for (int j = 0; j < cols; j++) {
            if (u[j * cols + j] == 0) {
                u[j * cols + j] = 1;
            }
            mean += u[j * cols + j] / cols;
        }
        for (int j = 0; j < cols; j++) {
            u[j * cols + j] += o.damp() * mean;
        }
        float[] diag = new float[cols]; // H_jj in the stored order: how much an error in column j costs
        for (int j = 0; j < cols; j++) {
            diag[j] = (float) u[j * cols + j];
        }
        int[] perm = order(u, cols, o.actOrder());
        if (o.actOrder()) {
            u = permute(u, cols, perm);
        }
        Cholesky.upperOfInverseInPlace(u, cols);
        return new Factor(cols, perm, u, diag, o);
    }

    public static Result quantize(RowSource src, Factor f, GroupCodec codec, int group, Widths widths, Progress progress) {
        int rows = src.rows(), cols = src.cols();
        if (f.cols() != cols) {
            throw new EngineException("Hessian has " + f.cols() + " columns, the matrix " + cols);
        }
        if (group < 1 || cols % group != 0) {
            throw new EngineException("group " + group + " does not divide rows of " + cols);
        }
        int groups = cols / group;
        Options o = f.options();
        double[] uf = f.u();
        int[] perm = f.perm();

        byte[] codes = new byte[Math.multiplyExact(rows, cols)];
        float[] scales = new float[rows * groups];
        int[] zeros = new int[rows * groups];
        int block = o.actOrder() ? o.blockSize() : ((o.blockSize() + group - 1) / group) * group;
        Parallel.forRange((rows + ROW_TILE - 1) / ROW_TILE, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int r0 = t * ROW_TILE, r1 = Math.min(rows, r0 + ROW_TILE);
                sweep(src, r0, r1, uf, perm, o.weightedScales() ? f.diag() : null, codec, group, widths, block, o.actOrder(), codes, scales, zeros);
                progress.step(r1 - r0);
            }
        });
        return new Result(rows, cols, group, codec, codes, scales, zeros);
    }

    /** Column order: as stored, or by decreasing H_jj (stable). */
    private static int[] order(double[] h, int n, boolean actOrder) {
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        if (actOrder) {
            Arrays.sort(idx, (a, b) -> Double.compare(h[b * n + b], h[a * n + a]));
        }
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    private static double[] permute(double[] h, int n, int[] perm) {
        double[] p = new double[h.length];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                p[i * n + j] = h[perm[i] * n + perm[j]];
            }
        }
        return p;
    }

    /** Rows [r0, r1): the whole column sweep. */
    private static void sweep(RowSource src, int r0, int r1, double[] u, int[] perm, float[] imp, GroupCodec codec, int group, Widths widths,
                              int block, boolean staticGroups, byte[] codes, float[] scales, int[] zeros) {
        int cols = src.cols(), groups = cols / group, nr = r1 - r0;
        double[][] w = new double[nr][cols]; // permuted columns
        float[] row = new float[cols];
        float[] gbuf = new float[group];
        for (int r = 0; r < nr; r++) {
            src.row(r0 + r, row);
            for (int p = 0; p < cols; p++) {
                w[r][p] = row[perm[p]];
            }
            if (staticGroups) {
                for (int gi = 0; gi < groups; gi++) {
                    setParams(codec, row, gi * group, group, widths.bits(r0 + r, gi), imp, gi * group, (r0 + r) * groups + gi, scales, zeros);
                }
            }
        }
        double[][] err = new double[nr][block];
        for (int b0 = 0; b0 < cols; b0 += block) {
            int b1 = Math.min(cols, b0 + block);
            for (int r = 0; r < nr; r++) {
                double[] wr = w[r];
                int at = (r0 + r) * groups;
                for (int p = b0; p < b1; p++) {
                    int c = perm[p], gi = c / group;
                    if (!staticGroups && p % group == 0) {
                        for (int i = 0; i < group; i++) {
                            gbuf[i] = (float) wr[p + i];
                        }
                        setParams(codec, gbuf, 0, group, widths.bits(r0 + r, gi), imp, c, at + gi, scales, zeros);
                    }
                    int bits = widths.bits(r0 + r, gi);
                    float s = scales[at + gi];
                    int z = zeros[at + gi];
                    int q = codec.code((float) wr[p], s, z, bits);
                    codes[(r0 + r) * cols + c] = (byte) q;
                    double e = (wr[p] - codec.value(q, s, z)) / u[p * cols + p];
                    err[r][p - b0] = e;
                    int ub = p * cols;
                    for (int k = p + 1; k < b1; k++) {
                        wr[k] -= e * u[ub + k];
                    }
                }
            }
            lazyUpdate(w, err, u, cols, b0, b1);
        }
    }

    /** Parameters of {@code w[off..off+n)}, whose importances (or null) start at {@code imp[impOff]}. */
    private static void setParams(GroupCodec codec, float[] w, int off, int n, int bits, float[] imp, int impOff, int at, float[] scales,
                                  int[] zeros) {
        float[] aligned = null;
        if (imp != null) {
            aligned = new float[off + n];
            System.arraycopy(imp, impOff, aligned, off, n);
        }
        GroupQuantizer.Result p = codec.params(w, off, n, bits, aligned);
        scales[at] = p.scale();
        zeros[at] = p.zero();
    }

    /** {@code W[:, b1:] −= Err · U[b0:b1, b1:]} for a tile of rows, in column chunks that keep U's rows in cache. */
    private static void lazyUpdate(double[][] w, double[][] err, double[] u, int cols, int b0, int b1) {
        for (int c0 = b1; c0 < cols; c0 += COL_CHUNK) {
            int c1 = Math.min(cols, c0 + COL_CHUNK);
            for (int r = 0; r < w.length; r++) {
                double[] wr = w[r], er = err[r];
                int j = b0;
                for (; j + 4 <= b1; j += 4) {
                    double e0 = er[j - b0], e1 = er[j + 1 - b0], e2 = er[j + 2 - b0], e3 = er[j + 3 - b0];
                    int u0 = j * cols, u1 = u0 + cols, u2 = u1 + cols, u3 = u2 + cols;
                    for (int k = c0; k < c1; k++) {
                        wr[k] -= e0 * u[u0 + k] + e1 * u[u1 + k] + e2 * u[u2 + k] + e3 * u[u3 + k];
                    }
                }
                for (; j < b1; j++) {
                    double e = er[j - b0];
                    int uj = j * cols;
                    for (int k = c0; k < c1; k++) {
                        wr[k] -= e * u[uj + k];
                    }
                }
            }
        }
    }
}

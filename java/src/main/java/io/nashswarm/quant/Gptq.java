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
    private static final int ROW_TILE = 128;

    private Gptq() {}

    /**
     * @param damp      λ as a fraction of the mean diagonal of H (GPTQ's percdamp; 0.01 by default)
     * @param actOrder  round columns by decreasing H_jj
     * @param blockSize columns per lazy-update block (rounded up to whole groups)
     * @param search    how a group's parameters are chosen when the sweep reaches it (see {@link ScaleSearch})
     * @param polish    passes after the sweep, each a least-squares refit of the row's group scales for the
     *                  output error followed by a coordinate descent over its codes (0: GPTQ as published)
     */
    /**
     * System property with the polish passes of the recipes (default 4). Each pass costs several sweeps (it is
     * not blocked like the sweep), affordable at these models' widths but not at 1B shapes: set it to 0 there.
     */
    public static final String POLISH_PROPERTY = "nashswarm.gptq.polish";

    public record Options(double damp, boolean actOrder, int blockSize, ScaleSearch search, int polish) {
        public Options {
            if (!(damp >= 0) || Double.isInfinite(damp)) {
                throw new EngineException("GPTQ dampening must be a fraction >= 0, got " + damp);
            }
            if (polish < 0) {
                throw new EngineException("GPTQ polish passes must be >= 0, got " + polish);
            }
            if (blockSize < 1) {
                throw new EngineException("GPTQ block size must be >= 1, got " + blockSize);
            }
        }

        public static Options defaults() {
            return new Options(0.01, false, 128, ScaleSearch.SWEPT, Integer.getInteger(POLISH_PROPERTY, 4));
        }
    }

    /** How each group's scale and zero are chosen. */
    public enum ScaleSearch {
        /** The codec's own rule on the group's current weights, each weight's error counted once. */
        CODEC,
        /** The codec's own rule, each column's error weighted by H_jj (the output error a unit error there causes). */
        WEIGHTED,
        /**
         * Every {@link GroupCodec#candidates candidate} is tried by rounding the group with GPTQ's compensation
         * inside it, and the one with the least GPTQ loss {@code Σ_j e_j²} (the exact increase of the output
         * error ‖ΔW·X‖² over the group's columns, given the columns before) is kept.
         */
        SWEPT
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
    /**
     * @param h      the Hessian as given (GPTQ's objective, for the scale refit), not copied
     * @param lambda the dampening added to its diagonal (dead inputs also get 1 there)
     */
    public record Factor(int cols, int[] perm, double[] u, float[] diag, Options options, double[] h, double lambda) {}

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
        return new Factor(cols, perm, u, diag, o, hessian.h(), o.damp() * mean);
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
        double[] sweptBlocks = o.search() == ScaleSearch.SWEPT && !o.actOrder() ? SweptSearch.diagonalBlocks(uf, cols, group) : null;
        Parallel.forRange((rows + ROW_TILE - 1) / ROW_TILE, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int r0 = t * ROW_TILE, r1 = Math.min(rows, r0 + ROW_TILE);
                sweep(src, r0, r1, uf, perm, o.search() == ScaleSearch.WEIGHTED ? f.diag() : null, sweptBlocks, codec, group,
                        widths, block, o.actOrder(), codes, scales, zeros);
                for (int r = r0; r < r1 && o.polish() > 0; r++) {
                    for (int pass = 0; pass < o.polish(); pass++) {
                        refit(src, r, f, codec, group, codes, scales, zeros);
                        descend(src, r, f, codec, group, widths, codes, scales, zeros);
                    }
                }
                progress.step(r1 - r0);
            }
        });
        return new Result(rows, cols, group, codec, codes, scales, zeros);
    }


    /**
     * One pass of coordinate descent on the codes of row r, scales fixed: each weight in turn moves to the
     * code nearest the minimum of the output error {@code (w − ŵ)ᵀ(H + λI)(w − ŵ)} along its coordinate,
     * {@code ŵ_j + ((H + λI)(w − ŵ))_j / (H_jj + λ)}; the error never grows.
     */
    private static void descend(RowSource src, int r, Factor f, GroupCodec codec, int group, Widths widths, byte[] codes, float[] scales,
                                int[] zeros) {
        int cols = f.cols(), groups = cols / group;
        double[] h = f.h();
        float[] w = new float[cols];
        src.row(r, w);
        double[] res = new double[cols];
        for (int k = 0; k < cols; k++) {
            int g = k / group;
            res[k] = w[k] - codec.value(codes[r * cols + k] & 0xFF, scales[r * groups + g], zeros[r * groups + g]);
        }
        double[] hr = new double[cols];
        for (int k = 0; k < cols; k++) {
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                sum += h[k * cols + j] * res[j];
            }
            hr[k] = sum + diagExtra(h, cols, k, f.lambda()) * res[k];
        }
        for (int j = 0; j < cols; j++) {
            int g = j / group, at = r * groups + g;
            float sc = scales[at];
            int z = zeros[at], q = codes[r * cols + j] & 0xFF;
            double cur = codec.value(q, sc, z), hjj = h[j * cols + j] + diagExtra(h, cols, j, f.lambda());
            int q2 = codec.code((float) (cur + hr[j] / hjj), sc, z, widths.bits(r, g));
            if (q2 == q) {
                continue;
            }
            double d = codec.value(q2, sc, z) - cur; // ŵ_j += d: res_j −= d
            codes[r * cols + j] = (byte) q2;
            for (int k = 0, hj = j * cols; k < cols; k++) {
                hr[k] -= d * h[hj + k]; // H's row j = its column j (symmetric), read in order
            }
            hr[j] -= d * diagExtra(h, cols, j, f.lambda());
        }
    }

    /** What GPTQ adds to H_jj: the dampening, and 1 for a dead input. */
    private static double diagExtra(double[] h, int cols, int j, double lambda) {
        return (h[j * cols + j] == 0 ? 1 : 0) + lambda;
    }

    /**
     * With the codes fixed, the group scales of row r that minimise the output error {@code (w − ŵ)ᵀ(H + λI)(w − ŵ)}:
     * ŵ is linear in the scales ({@code ŵ = Σ_g s_g·c_g}, c_g the group's code values at scale 1), so they solve
     * the G×G normal equations {@code (CᵀHC)·s = CᵀHw}. Rounded to fp16; groups whose codes are all zero keep theirs.
     */
    private static void refit(RowSource src, int r, Factor f, GroupCodec codec, int group, byte[] codes, float[] scales, int[] zeros) {
        int cols = f.cols(), groups = cols / group;
        double[] h = f.h();
        float[] w = new float[cols];
        src.row(r, w);
        double[][] c = new double[groups][group];
        boolean[] live = new boolean[groups];
        for (int g = 0; g < groups; g++) {
            int z = zeros[r * groups + g];
            for (int i = 0; i < group; i++) {
                c[g][i] = codec.value(codes[r * cols + g * group + i] & 0xFF, 1f, z);
                live[g] |= c[g][i] != 0;
            }
        }
        double[][] hc = new double[groups][cols]; // (H + λI)·c_g over all columns
        for (int k = 0; k < cols; k++) { // H row by row, each read once
            for (int g = 0; g < groups; g++) {
                if (live[g]) {
                    double sum = 0;
                    int base = k * cols + g * group;
                    for (int i = 0; i < group; i++) {
                        sum += h[base + i] * c[g][i];
                    }
                    hc[g][k] = sum;
                }
            }
        }
        for (int g = 0; g < groups; g++) {
            if (!live[g]) {
                continue;
            }
            for (int i = 0; i < group; i++) {
                int k = g * group + i;
                double hkk = h[k * cols + k];
                hc[g][k] += ((hkk == 0 ? 1 : 0) + f.lambda()) * c[g][i];
            }
        }
        double[][] a = new double[groups][groups];
        double[] b = new double[groups];
        for (int g = 0; g < groups; g++) {
            if (!live[g]) {
                a[g][g] = 1;
                b[g] = scales[r * groups + g];
                continue;
            }
            for (int k = 0; k < cols; k++) {
                b[g] += hc[g][k] * w[k];
            }
            for (int g2 = 0; g2 < groups; g2++) {
                if (live[g2]) {
                    double sum = 0;
                    for (int i = 0; i < group; i++) {
                        sum += hc[g][g2 * group + i] * c[g2][i];
                    }
                    a[g][g2] = sum;
                }
            }
        }
        double[] s = solve(a, b);
        if (s == null) {
            return;
        }
        for (int g = 0; g < groups; g++) {
            if (live[g] && Double.isFinite(s[g])) {
                float v = Float.float16ToFloat(Float.floatToFloat16((float) s[g]));
                if (Float.isFinite(v)) {
                    scales[r * groups + g] = v;
                }
            }
        }
    }

    /** Solves the symmetric positive definite system a·x = b by Cholesky; null when it is not positive definite. */
    private static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[][] l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double v = a[i][j];
                for (int k = 0; k < j; k++) {
                    v -= l[i][k] * l[j][k];
                }
                if (i == j) {
                    if (!(v > 0)) {
                        return null;
                    }
                    l[i][i] = Math.sqrt(v);
                } else {
                    l[i][j] = v / l[j][j];
                }
            }
        }
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            double v = b[i];
            for (int k = 0; k < i; k++) {
                v -= l[i][k] * y[k];
            }
            y[i] = v / l[i][i];
        }
        for (int i = n - 1; i >= 0; i--) {
            double v = y[i];
            for (int k = i + 1; k < n; k++) {
                v -= l[k][i] * y[k];
            }
            y[i] = v / l[i][i];
        }
        return y;
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
    private static void sweep(RowSource src, int r0, int r1, double[] u, int[] perm, float[] imp, double[] sweptBlocks, GroupCodec codec, int group,
                              Widths widths, int block, boolean staticGroups, byte[] codes, float[] scales, int[] zeros) {
        int cols = src.cols(), groups = cols / group, nr = r1 - r0;
        double[] w = new double[nr * cols]; // permuted columns, row r at r·cols
        float[] row = new float[cols];
        float[] gbuf = new float[group];
        for (int r = 0; r < nr; r++) {
            src.row(r0 + r, row);
            for (int p = 0; p < cols; p++) {
                w[r * cols + p] = row[perm[p]];
            }
            if (staticGroups) {
                for (int gi = 0; gi < groups; gi++) {
                    setParams(codec, row, gi * group, group, widths.bits(r0 + r, gi), imp, gi * group, (r0 + r) * groups + gi, scales, zeros);
                }
            }
        }
        double[] err = new double[nr * block]; // row r's errors of the block at r·block
        SweptSearch searcher = sweptBlocks != null ? new SweptSearch(sweptBlocks) : null;
        for (int b0 = 0; b0 < cols; b0 += block) {
            int b1 = Math.min(cols, b0 + block);
            for (int r = 0; r < nr; r++) {
                int wr = r * cols, at = (r0 + r) * groups;
                for (int p = b0; p < b1; p++) {
                    int c = perm[p], gi = c / group;
                    if (!staticGroups && p % group == 0) {
                        for (int i = 0; i < group; i++) {
                            gbuf[i] = (float) w[wr + p + i];
                        }
                        if (searcher != null) {
                            searcher.choose(codec, gbuf, w, wr, p, group, widths.bits(r0 + r, gi), u, cols, scales, zeros, at + gi);
                        } else {
                            setParams(codec, gbuf, 0, group, widths.bits(r0 + r, gi), imp, c, at + gi, scales, zeros);
                        }
                    }
                    int bits = widths.bits(r0 + r, gi);
                    float s = scales[at + gi];
                    int z = zeros[at + gi];
                    double wp = w[wr + p];
                    int q = codec.code((float) wp, s, z, bits);
                    codes[(r0 + r) * cols + c] = (byte) q;
                    double e = (wp - codec.value(q, s, z)) / u[p * cols + p];
                    err[r * block + p - b0] = e;
                    int ub = p * cols - wr; // u[ub + k] = U[p][k − wr]
                    for (int k = wr + p + 1; k < wr + b1; k++) {
                        w[k] -= e * u[ub + k];
                    }
                }
            }
            // GPTQ's lazy batch: W[:, b1:] −= Err · U[b0:b1, b1:] for the whole tile of rows
            DoubleMatrices.multiplySubtract(w, b1, cols, err, 0, block, u, b0 * cols + b1, cols, nr, cols - b1, b1 - b0);
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
}

package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.IntGroupMatrix;
import io.nashswarm.tensor.NF4Matrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.util.Progress;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GptqTest {
    /** GPTQ as published: the codec's own rule for the group parameters, no polish. */
    private static final Gptq.Options PLAIN = new Gptq.Options(0.01, false, 128, Gptq.ScaleSearch.CODEC, 0);
    /** The reference's factor per (Hessian, dampening, act-order): Commons Math is slow at these sizes. */
    private static final java.util.Map<java.util.List<Object>, double[][]> FACTORS = new java.util.HashMap<>();

    /** Gaussian weights with a few large ones, so groups differ in range. */
    static float[][] weights(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (rnd.nextGaussian() * (rnd.nextInt(20) == 0 ? 0.3 : 0.05));
            }
        }
        return w;
    }

    /** H = 2·XᵀX/n of n correlated inputs (a shared factor plus channel noise of varying power). */
    static Hessian hessian(int cols, int n, long seed) {
        Random rnd = new Random(seed);
        double[][] x = new double[n][cols];
        double[] power = new double[cols];
        for (int c = 0; c < cols; c++) {
            power[c] = 0.2 + 3 * rnd.nextDouble();
        }
        for (double[] xi : x) {
            double f = rnd.nextGaussian();
            for (int c = 0; c < cols; c++) {
                xi[c] = power[c] * (0.7 * rnd.nextGaussian() + 0.5 * f);
            }
        }
        double[] h = new double[cols * cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (double[] xi : x) {
                    s += xi[i] * xi[j];
                }
                h[i * cols + j] = 2 * s / n;
            }
        }
        return new Hessian(cols, n, h);
    }

    /**
     * GPTQ as the paper states it, written independently: H⁻¹ from Commons Math, its upper Cholesky factor,
     * then column by column over every row with the full update of all later columns (no blocks, no tiles).
     */
    static int[][] reference(float[][] w0, Hessian hs, GroupCodec codec, int group, int bits, double damp, boolean actOrder) {
        return reference(w0, hs, codec, group, bits, damp, actOrder, false);
    }

    /** @param weighted group parameters chosen by the error weighted with the dampened H_jj of their columns */
    static int[][] reference(float[][] w0, Hessian hs, GroupCodec codec, int group, int bits, double damp, boolean actOrder, boolean weighted) {
        return reference(w0, hs, codec, group, bits, damp, actOrder, weighted, false);
    }

    /**
     * @param swept group parameters: of the codec's candidates, the one whose rounding of the group (with the
     *              full update of every later column) adds the least Σ e², e = (w_p − q_p)/U_pp
     */
    static int[][] reference(float[][] w0, Hessian hs, GroupCodec codec, int group, int bits, double damp, boolean actOrder, boolean weighted,
                             boolean swept) {
        int rows = w0.length, cols = w0[0].length;
        double[][] h = new double[cols][cols];
        double mean = 0;
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                h[i][j] = hs.at(i, j);
            }
            if (h[i][i] == 0) {
                h[i][i] = 1;
            }
            mean += h[i][i] / cols;
        }
        for (int i = 0; i < cols; i++) {
            h[i][i] += damp * mean;
        }
        float[] imp = null;
        if (weighted) {
            imp = new float[cols];
            for (int i = 0; i < cols; i++) {
                imp[i] = (float) h[i][i];
            }
        }
        Integer[] perm = new Integer[cols];
        for (int i = 0; i < cols; i++) {
            perm[i] = i;
        }
        if (actOrder) {
            double[][] hh = h;
            java.util.Arrays.sort(perm, (a, b) -> Double.compare(hh[b][b], hh[a][a]));
        }
        double[][] hp = new double[cols][cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                hp[i][j] = h[perm[i]][perm[j]];
            }
        }
        double[][] u = FACTORS.computeIfAbsent(java.util.List.of(hs, damp, actOrder), k -> {
            RealMatrix inv = new CholeskyDecomposition(new Array2DRowRealMatrix(hp), 1e-14, 1e-14).getSolver().getInverse();
            inv = inv.add(inv.transpose()).scalarMultiply(0.5);
            return new CholeskyDecomposition(inv, 1e-14, 1e-14).getLT().getData(); // upper: inv = Uᵀ·U
        });
        int[][] codes = new int[rows][cols];
        int groups = cols / group;
        for (int r = 0; r < rows; r++) {
            double[] w = new double[cols];
            for (int p = 0; p < cols; p++) {
                w[p] = w0[r][perm[p]];
            }
            float[] scale = new float[groups];
            int[] zero = new int[groups];
            for (int gi = 0; gi < groups && actOrder; gi++) {
                GroupQuantizer.Result pr = codec.params(w0[r], gi * group, group, bits, imp);
                scale[gi] = pr.scale();
                zero[gi] = pr.zero();
            }
            for (int p = 0; p < cols; p++) {
                int c = perm[p], gi = c / group;
                if (!actOrder && p % group == 0) {
                    float[] g = new float[group];
                    for (int i = 0; i < group; i++) {
                        g[i] = (float) w[p + i];
                    }
                    float[] gimp = imp == null ? null : java.util.Arrays.copyOfRange(imp, p, p + group);
                    GroupQuantizer.Result pr = codec.params(g, 0, group, bits, gimp);
                    if (swept) {
                        double best = Double.POSITIVE_INFINITY;
                        for (GroupQuantizer.Result cand : codec.candidates(g, 0, group, bits)) {
                            double[] t = w.clone();
                            double loss = 0;
                            for (int i = p; i < p + group; i++) {
                                double e = (t[i] - codec.value(codec.code((float) t[i], cand.scale(), cand.zero(), bits), cand.scale(), cand.zero()))
                                        / u[i][i];
                                loss += e * e;
                                for (int k = i + 1; k < cols; k++) {
                                    t[k] -= e * u[i][k];
                                }
                            }
                            if (loss < best) {
                                best = loss;
                                pr = cand;
                            }
                        }
                    }
                    scale[gi] = pr.scale();
                    zero[gi] = pr.zero();
                }
                int q = codec.code((float) w[p], scale[gi], zero[gi], bits);
                codes[r][c] = q;
                double e = (w[p] - codec.value(q, scale[gi], zero[gi])) / u[p][p];
                for (int k = p + 1; k < cols; k++) {
                    w[k] -= e * u[p][k];
                }
            }
        }
        return codes;
    }

    private static void assertSameCodes(int[][] expected, Gptq.Result got, String what) {
        int differ = 0;
        for (int r = 0; r < expected.length; r++) {
            for (int c = 0; c < expected[0].length; c++) {
                if (expected[r][c] != got.code(r, c)) {
                    differ++;
                }
            }
        }
        assertEquals(0, differ, what + ": codes differing from the float64 reference");
    }

    @Test
    void matchesTheFloat64ReferenceForEveryStorageType() {
        int rows = 37, cols = 256; // blocks of 128 columns, tiles of 32 rows plus a partial one
        float[][] w = weights(rows, cols, 1);
        Hessian h = hessian(cols, 600, 2);
        for (boolean actOrder : new boolean[] {false, true}) {
            for (int bits : new int[] {2, 4, 8}) {
                for (boolean asym : new boolean[] {false, true}) {
                    GroupCodec codec = GroupCodec.integer(asym);
                    Gptq.Result got = Gptq.quantize(RowSource.of(w), h, codec, 64, Gptq.Widths.uniform(bits),
                            new Gptq.Options(0.01, actOrder, 128, Gptq.ScaleSearch.CODEC, 0), Progress.none());
                    assertSameCodes(reference(w, h, codec, 64, bits, 0.01, actOrder), got,
                            "int" + bits + (asym ? " asym" : " sym") + (actOrder ? " act-order" : ""));
                }
            }
            for (int bits : new int[] {2, 4}) { // the recipes' codec: clipping search weighted by H_jj
                for (boolean asym : new boolean[] {false, true}) {
                    GroupCodec codec = GroupCodec.integer(asym, ScaleRule.MSE_SEARCH);
                    Gptq.Result got = Gptq.quantize(RowSource.of(w), h, codec, 64, Gptq.Widths.uniform(bits),
                            new Gptq.Options(0.01, actOrder, 128, Gptq.ScaleSearch.WEIGHTED, 0), Progress.none());
                    assertSameCodes(reference(w, h, codec, 64, bits, 0.01, actOrder, true), got,
                            "int" + bits + " mse-search weighted" + (asym ? " asym" : " sym") + (actOrder ? " act-order" : ""));
                    // the search must change some codes against min/max scales, or this checks nothing new
                    int[][] minmax = reference(w, h, GroupCodec.integer(asym), 64, bits, 0.01, actOrder);
                    int changed = 0;
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            changed += minmax[r][c] != got.code(r, c) ? 1 : 0;
                        }
                    }
                    assertTrue(changed > rows, "clipping search changed only " + changed + " codes");
                }
            }
            for (QuantType type : new QuantType[] {QuantType.NF4, QuantType.FP4}) {
                GroupCodec codec = GroupCodec.of(type, false);
                Gptq.Result got = Gptq.quantize(RowSource.of(w), h, codec, 32, Gptq.Widths.uniform(4),
                        new Gptq.Options(0.05, actOrder, 128, Gptq.ScaleSearch.CODEC, 0), Progress.none());
                assertSameCodes(reference(w, h, codec, 32, 4, 0.05, actOrder), got, type.label() + " g32" + (actOrder ? " act-order" : ""));
            }
        }
    }

    @Test
    void sweptScaleSearchMatchesTheReference() {
        int rows = 37, cols = 256;
        float[][] w = weights(rows, cols, 21);
        Hessian h = hessian(cols, 600, 22);
        for (int bits : new int[] {2, 4}) {
            for (boolean asym : new boolean[] {false, true}) {
                GroupCodec codec = GroupCodec.integer(asym, ScaleRule.MSE_SEARCH);
                Gptq.Result got = Gptq.quantize(RowSource.of(w), h, codec, 64, Gptq.Widths.uniform(bits),
                        new Gptq.Options(0.01, false, 128, Gptq.ScaleSearch.SWEPT, 0), Progress.none());
                assertSameCodes(reference(w, h, codec, 64, bits, 0.01, false, false, true), got, "int" + bits + " swept" + (asym ? " asym" : " sym"));
                int[][] weighted = reference(w, h, codec, 64, bits, 0.01, false, true);
                int changed = 0;
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        changed += weighted[r][c] != got.code(r, c) ? 1 : 0;
                    }
                }
                assertTrue(changed > rows, "the swept search changed only " + changed + " codes against the H_jj-weighted one");
            }
        }
    }

    @Test
    void asymmetricCandidatesContainTheBruteForceBest() {
        // The joint (scale, zero) grid must hold, for unit weights, a pair as good as the best of an exhaustive
        // search over 200 scales in the same range (0.5–1.0 of min/max) and every zero code (within 2%: the
        // grid has 16 scales and three zeros per scale).
        Random rnd = new Random(31);
        for (int trial = 0; trial < 50; trial++) {
            float[] g = new float[64];
            double shift = rnd.nextGaussian() * 0.05;
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (shift + rnd.nextGaussian() * 0.05 * (rnd.nextInt(16) == 0 ? 4 : 1));
            }
            double fromGrid = Double.POSITIVE_INFINITY;
            for (GroupQuantizer.Result c : GroupQuantizer.candidates(g, 0, g.length, 2, true)) {
                fromGrid = Math.min(fromGrid, GroupQuantizer.encode(g, 0, g.length, 2, c.scale(), c.zero(), null, 0, new int[64], 0).squaredError());
            }
            float lo = 0, hi = 0;
            for (float v : g) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            double brute = Double.POSITIVE_INFINITY;
            for (int k = 200; k <= 400; k++) {
                float s = GroupQuantizer.toF16Up((hi - lo) / 3 * k / 400f);
                for (int z = 0; z <= 3; z++) {
                    brute = Math.min(brute, GroupQuantizer.encode(g, 0, g.length, 2, s, z, null, 0, new int[64], 0).squaredError());
                }
            }
            assertTrue(fromGrid <= brute * 1.02 + 1e-12, "trial " + trial + ": grid " + fromGrid + " vs brute force " + brute);
            double minmax = GroupQuantizer.quantize(g, 0, g.length, 2, true, ScaleRule.MINMAX, null, 0, new int[64], 0).squaredError();
            assertTrue(fromGrid <= minmax, "the grid holds the min/max rule");
        }
    }

    /** Σ over rows of (w − ŵ)ᵀ(H + λI)(w − ŵ), with GPTQ's dampening, in float64. */
    private static double outputError(float[][] w, Gptq.Result g, Hessian h, double damp) {
        int cols = h.cols();
        double mean = 0;
        for (int i = 0; i < cols; i++) {
            mean += h.at(i, i) / cols;
        }
        double total = 0;
        for (int r = 0; r < w.length; r++) {
            double[] d = new double[cols];
            for (int c = 0; c < cols; c++) {
                d[c] = w[r][c] - g.value(r, c);
            }
            total += h.quadratic(d, 0, 0, cols);
            for (int c = 0; c < cols; c++) {
                total += damp * mean * d[c] * d[c];
            }
        }
        return total;
    }

    @Test
    void polishLowersTheOutputErrorPassByPass() {
        int rows = 24, cols = 192;
        float[][] w = weights(rows, cols, 41);
        Hessian h = hessian(cols, 500, 42);
        for (int bits : new int[] {2, 4}) {
            for (boolean asym : new boolean[] {false, true}) {
                GroupCodec codec = GroupCodec.integer(asym, ScaleRule.MSE_SEARCH);
                double[] err = new double[4];
                for (int passes = 0; passes < err.length; passes++) {
                    Gptq.Result g = Gptq.quantize(RowSource.of(w), h, codec, 64, Gptq.Widths.uniform(bits),
                            new Gptq.Options(0.01, false, 128, Gptq.ScaleSearch.SWEPT, passes), Progress.none());
                    err[passes] = outputError(w, g, h, 0.01);
                    // stored scales must be fp16 values (the writer keeps them as they are)
                    for (int r = 0; r < rows; r++) {
                        for (int gi = 0; gi < cols / 64; gi++) {
                            float s = g.scale(r, gi);
                            assertEquals(s, Float.float16ToFloat(Float.floatToFloat16(s)));
                        }
                    }
                }
                String what = "int" + bits + (asym ? " asym" : " sym") + " output error by passes " + java.util.Arrays.toString(err);
                for (int p = 1; p < err.length; p++) {
                    // a refit's fp16 rounding may cost a hair; the descent after it only lowers the error
                    assertTrue(err[p] <= err[p - 1] * (1 + 1e-4), what);
                }
                assertTrue(err[3] < 0.97 * err[0], what);
            }
        }
    }

    @Test
    void mixedWidthsMatchTheReferenceRowByRow() {
        int rows = 9, cols = 128, group = 32;
        float[][] w = weights(rows, cols, 3);
        Hessian h = hessian(cols, 300, 4);
        byte[] widths = new byte[rows * cols / group];
        Random rnd = new Random(5);
        for (int i = 0; i < widths.length; i++) {
            widths[i] = (byte) (2 << rnd.nextInt(3));
        }
        GroupCodec codec = GroupCodec.integer(false);
        Gptq.Result got = Gptq.quantize(RowSource.of(w), h, codec, group, Gptq.Widths.of(widths, cols / group), PLAIN,
                Progress.none());
        // The reference at one width per row: a row whose groups share a width is the uniform algorithm.
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < cols / group; gi++) {
                float[][] one = {w[r]};
                int[][] ref = reference(one, h, codec, group, widths[r * (cols / group) + gi], 0.01, false);
                // only groups up to gi share the history when all earlier widths equal this one; check those rows
                boolean uniformSoFar = true;
                for (int k = 0; k <= gi; k++) {
                    uniformSoFar &= widths[r * (cols / group) + k] == widths[r * (cols / group) + gi];
                }
                if (uniformSoFar) {
                    for (int c = gi * group; c < (gi + 1) * group; c++) {
                        assertEquals(ref[0][c], got.code(r, c), "row " + r + " col " + c);
                    }
                }
            }
        }
    }

    @Test
    void identityHessianIsRoundToNearestExactly() {
        int rows = 20, cols = 192;
        float[][] w = weights(rows, cols, 7);
        Hessian id = Hessian.identity(cols);
        try (Arena arena = Arena.ofShared()) {
            for (QuantType type : new QuantType[] {QuantType.INT8, QuantType.INT4, QuantType.INT2}) {
                for (boolean asym : new boolean[] {false, true}) {
                    GroupSpec spec = new GroupSpec(64, asym, false);
                    IntGroupMatrix rtn = RtnQuantizer.quantize(RowSource.of(w), type, spec, ScaleRule.MINMAX, arena);
                    Gptq.Result g = Gptq.quantize(RowSource.of(w), id, GroupCodec.integer(asym), 64, Gptq.Widths.uniform(type.codeBits()),
                            PLAIN, Progress.none());
                    IntGroupMatrix viaGptq = RtnQuantizer.quantize(RowSource.of(w), type, spec, g, arena);
                    for (int r = 0; r < rows; r++) {
                        for (int c = 0; c < cols; c++) {
                            assertEquals(rtn.code(r, c), g.code(r, c), type + " asym=" + asym + " (" + r + "," + c + ")");
                            assertEquals(rtn.code(r, c), viaGptq.code(r, c));
                        }
                        for (int gi = 0; gi < cols / 64; gi++) {
                            assertEquals(rtn.scale(r, gi), viaGptq.scale(r, gi));
                            assertEquals(rtn.zero(r, gi), viaGptq.zero(r, gi));
                        }
                    }
                }
            }
            for (QuantType type : new QuantType[] {QuantType.INT4, QuantType.INT2}) { // the recipes' clipping search, unit weights
                GroupSpec spec = new GroupSpec(64, false, false);
                IntGroupMatrix rtn = RtnQuantizer.quantize(RowSource.of(w), type, spec, ScaleRule.MSE_SEARCH, arena);
                Gptq.Result g = Gptq.quantize(RowSource.of(w), id, GroupCodec.integer(false, ScaleRule.MSE_SEARCH), 64,
                        Gptq.Widths.uniform(type.codeBits()), PLAIN, Progress.none());
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        assertEquals(rtn.code(r, c), g.code(r, c), type + " mse-search (" + r + "," + c + ")");
                    }
                    for (int gi = 0; gi < cols / 64; gi++) {
                        assertEquals(rtn.scale(r, gi), g.scale(r, gi));
                    }
                }
            }
            NF4Matrix rtn = RtnQuantizer.nf4(RowSource.of(w), GroupSpec.symmetric(64), arena);
            Gptq.Result g = Gptq.quantize(RowSource.of(w), id, GroupCodec.of(QuantType.NF4, false), 64, Gptq.Widths.uniform(4),
                    PLAIN, Progress.none());
            NF4Matrix viaGptq = (NF4Matrix) RtnQuantizer.codebook(RowSource.of(w), QuantType.NF4, GroupSpec.symmetric(64), g, arena);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(rtn.code(r, c), viaGptq.code(r, c), "nf4 (" + r + "," + c + ")");
                }
            }
        }
    }

    @Test
    void lowersTheOutputErrorOnTheCalibrationStatistics() {
        int rows = 64, cols = 256;
        float[][] w = weights(rows, cols, 11);
        Hessian h = hessian(cols, 800, 12);
        GroupCodec codec = GroupCodec.integer(false);
        Gptq.Result g = Gptq.quantize(RowSource.of(w), h, codec, 64, Gptq.Widths.uniform(4), Gptq.Options.defaults(), Progress.none());
        Gptq.Result rtn = Gptq.quantize(RowSource.of(w), Hessian.identity(cols), codec, 64, Gptq.Widths.uniform(4), Gptq.Options.defaults(),
                Progress.none());
        double eg = 0, er = 0;
        for (int r = 0; r < rows; r++) {
            double[] dg = new double[cols], dr = new double[cols];
            for (int c = 0; c < cols; c++) {
                dg[c] = w[r][c] - g.value(r, c);
                dr[c] = w[r][c] - rtn.value(r, c);
            }
            eg += h.quadratic(dg, 0, 0, cols);
            er += h.quadratic(dr, 0, 0, cols);
        }
        assertTrue(eg < 0.8 * er, "GPTQ output error " + eg + " vs round-to-nearest " + er);
    }

    @Test
    void indefiniteHessianIsAClearError() {
        double[] h = new double[64 * 64];
        for (int i = 0; i < 64; i++) {
            h[i * 64 + i] = 1;
        }
        h[1] = h[64] = 3; // entries (0,1) and (1,0): eigenvalues -2 and 4 in that 2x2 block
        EngineException e = assertThrows(EngineException.class, () -> Gptq.quantize(RowSource.of(weights(4, 64, 1)), new Hessian(64, 1000, h),
                GroupCodec.integer(false), 64, Gptq.Widths.uniform(4), Gptq.Options.defaults(), Progress.none()));
        assertTrue(e.getMessage().contains("not positive definite"), e.getMessage());
    }

    @Test
    void rankDeficientCalibrationIsAClearError() {
        Hessian h = hessian(64, 10, 1);
        EngineException e = assertThrows(EngineException.class, () -> h.checkRank("blk.0.attn_q.weight"));
        assertTrue(e.getMessage().contains("rank-deficient") && e.getMessage().contains("blk.0.attn_q.weight"), e.getMessage());
    }

    @Test
    void tooShortACalibrationIsAClearErrorForTheWholeModel() {
        try (io.nashswarm.model.ModelWeights w = TinyModels.llama(64, 96, 1, 50, 3)) {
            int[] tokens = new Random(4).ints(40, 0, 50).toArray(); // 40 inputs for 64- and 96-column matrices
            ActivationStats a = ActivationStats.collect(io.nashswarm.model.TransformerModel.create(w), tokens, 40, true, Progress.none());
            Calibration cal = new Calibration(a.byName(w), a.meanAbsByName(w), a.hessiansByName(w), 40, "40 random tokens");
            for (Recipe r : new Recipe[] {Recipe.GPTQ_INT4, Recipe.AWQ_INT4, Recipe.GPTQ_TARGET}) {
                EngineException e = assertThrows(EngineException.class,
                        () -> ModelQuantizer.quantizeCalibrated(w, r, QuantSettings.defaults(), cal, Progress.none()));
                assertTrue(e.getMessage().contains("rank-deficient") && e.getMessage().contains("40 input vectors"), e.getMessage());
            }
        }
    }

    @Test
    void layerByLayerHessiansGiveTheSameModelAsAllAtOnce() {
        try (io.nashswarm.model.ModelWeights w = TinyModels.llama(64, 96, 2, 50, 5)) {
            int[] tokens = new Random(6).ints(400, 0, 50).toArray();
            Calibration streamed = Calibration.run(w, tokens, 400, "400 random tokens", false, Progress.none());
            assertNull(streamed.hessians(), "GPTQ's own recipes need not hold every layer's Hessian");
            Calibration all = Calibration.run(w, tokens, 400, "400 random tokens", true, Progress.none());
            Calibration allOnly = new Calibration(all.meanSquares(), all.meanAbs(), all.hessians(), all.tokens(), all.description());
            java.util.Set<String> asked = new java.util.TreeSet<>();
            Calibration counting = new Calibration(streamed.meanSquares(), streamed.meanAbs(), null, streamed.tokens(), streamed.description(),
                    new Calibration.LayerHessians() {
                        @Override
                        public java.util.Map<String, Hessian> of(io.nashswarm.model.ModelWeights model, java.util.Set<String> names) {
                            assertTrue(names.stream().allMatch(n -> n.startsWith(names.iterator().next().substring(0, 6))), "one layer per call: " + names);
                            names.forEach(n -> assertTrue(asked.add(n), n + " asked twice"));
                            return streamed.perLayer().of(model, names);
                        }

                        @Override
                        public java.util.Map<String, PairedInputs.Moments> paired(io.nashswarm.model.ModelWeights reference,
                                                                                  io.nashswarm.model.ModelWeights current, java.util.Set<String> names) {
                            throw new AssertionError("not asked for");
                        }
                    });
            // as all at once: every input from the original model
            PairedInputsTest.withAlpha("off", () -> {
                for (Recipe r : new Recipe[] {Recipe.GPTQ_INT4, Recipe.GPTQ_INT2}) {
                    asked.clear();
                    try (ModelQuantizer.QuantizedModel a = ModelQuantizer.quantizeCalibrated(w, r, QuantSettings.defaults(), counting, Progress.none());
                         ModelQuantizer.QuantizedModel b = ModelQuantizer.quantizeCalibrated(w, r, QuantSettings.defaults(), allOnly, Progress.none())) {
                        assertEquals(14, asked.size(), "every body matrix of both layers: " + asked);
                        for (String name : w.matrices().keySet()) {
                            float[][] x = TinyModels.rows(a.weights().matrices().get(name)), y = TinyModels.rows(b.weights().matrices().get(name));
                            for (int i = 0; i < x.length; i++) {
                                assertArrayEquals(y[i], x[i], r.label() + " " + name + " row " + i);
                            }
                        }
                    }
                }
            });
        }
    }

    /** With paired inputs (the recipes' default) GPTQ's layers see the partly quantized model, and the result moves. */
    @Test
    void pairedInputsChangeTheLaterLayers() {
        try (io.nashswarm.model.ModelWeights w = TinyModels.llama(64, 96, 2, 50, 5)) {
            int[] tokens = new Random(6).ints(400, 0, 50).toArray();
            Calibration c = Calibration.run(w, tokens, 400, "400 random tokens", false, Progress.none());
            ModelQuantizer.QuantizedModel[] off = new ModelQuantizer.QuantizedModel[1], on = new ModelQuantizer.QuantizedModel[1];
            PairedInputsTest.withAlpha("off", () -> off[0] = ModelQuantizer.quantizeCalibrated(w, Recipe.GPTQ_INT2, QuantSettings.defaults(), c, Progress.none()));
            PairedInputsTest.withAlpha("0.5", () -> on[0] = ModelQuantizer.quantizeCalibrated(w, Recipe.GPTQ_INT2, QuantSettings.defaults(), c, Progress.none()));
            try (ModelQuantizer.QuantizedModel a = off[0]; ModelQuantizer.QuantizedModel b = on[0]) {
                for (String name : w.matrices().keySet()) {
                    boolean same = java.util.Arrays.deepEquals(TinyModels.rows(a.weights().matrices().get(name)), TinyModels.rows(b.weights().matrices().get(name)));
                    // the last layer's inputs carry the rounding of everything before it; embeddings are not GPTQ's
                    if (name.startsWith("blk.1.")) {
                        assertFalse(same, name + " did not change");
                    } else if (ModelQuantizer.EMBEDDINGS.contains(name)) {
                        assertTrue(same, name + " changed");
                    }
                }
            }
        }
    }

    @Test
    void namesSpellTheGroupAndTarget() {
        assertEquals(Recipe.GPTQ_INT4, Recipe.parseName("gptq-int4-g64").recipe());
        assertEquals(64, Recipe.parseName("gptq-int4-g64").group().getAsInt());
        assertEquals(3.0, Recipe.parseName("gptq-target-3.0bpw").bpw().getAsDouble());
        assertEquals(Recipe.GPTQ_TARGET, Recipe.parseName("gptq-target-3.0bpw").recipe());
        assertEquals(Recipe.TARGET_BPW_CALIB, Recipe.parseName("target-4.0bpw-calib-g64").recipe());
        assertTrue(Recipe.parseName("int4-g128-asym").asym());
        EngineException e = assertThrows(EngineException.class, () -> Recipe.parseName("gptq-int3-g64"));
        assertTrue(e.getMessage().contains("unknown recipe 'gptq-int3-g64'"), e.getMessage());
    }

    @Test
    void choleskyOfTheInverseMatchesCommonsMath() {
        int n = 77;
        Hessian h = hessian(n, 200, 9);
        double[] a = h.h().clone();
        Cholesky.upperOfInverseInPlace(a, n);
        RealMatrix inv = new CholeskyDecomposition(new Array2DRowRealMatrix(rows(h.h(), n))).getSolver().getInverse();
        inv = inv.add(inv.transpose()).scalarMultiply(0.5);
        double[][] u = new CholeskyDecomposition(inv, 1e-14, 1e-14).getLT().getData();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(u[i][j], a[i * n + j], 1e-9 * Math.abs(u[i][i]) + 1e-12, "U(" + i + "," + j + ")");
            }
        }
    }

    private static double[][] rows(double[] a, int n) {
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a, i * n, m[i], 0, n);
        }
        return m;
    }
}

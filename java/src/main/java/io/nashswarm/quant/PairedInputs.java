package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.InferenceState;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The inputs of a layer's matrices in two models at once, token for token: the original one ({@code x}) and the
 * partly quantized one whose earlier layers are already rounded ({@code x̃}). GPTQ with these targets the
 * original output, {@code ‖W·X − Ŵ·X̃‖²} (asymmetric calibration, as GPTAQ, Li et al. 2025), blended with
 * {@code ‖W·X̃ − Ŵ·X̃‖²} (sequential GPTQ): the rounding of a layer then also undoes some of the error that earlier
 * layers left in its input.
 *
 * <p>With {@code H̃ = 2·X̃ᵀX̃/n} and {@code C = 2·X̃ᵀX/n} ({@code C[i][j] = 2/n·Σ_t x̃_ti·x_tj}) and GPTQ's dampening
 * λ read as a pull of {@code Ŵ} towards {@code W}, the loss is, per row, {@code (ŵ − w*)·(H̃ + λI)·(ŵ − w*)ᵀ} plus a
 * constant ({@link Moments#target}): GPTQ of the rows {@code w*} under {@code H̃}. When the inputs agree
 * ({@code X̃ = X}), {@code w* = w}.
 */
public final class PairedInputs {
    /**
     * System property with α, the weight of the original output in the loss (see {@link Moments#target}); 0.5 by
     * default; {@code off} takes every layer's inputs from the original model (GPTQ as published). On aidreams260K's
     * first 400 lines int2 g64 KLD was 0.558 off, 0.562 at α = 1, 0.517 at 0.25, 0.482 at 0.5, 0.477 at 0.6, 0.500 at 0.75.
     */
    public static final String ALPHA_PROPERTY = "nashswarm.gptq.alpha";

    private PairedInputs() {}

    /** α from {@link #ALPHA_PROPERTY}, or empty for "off". */
    public static java.util.OptionalDouble alpha() {
        String a = System.getProperty(ALPHA_PROPERTY, "0.5").trim();
        if (a.equals("off")) {
            return java.util.OptionalDouble.empty();
        }
        double v;
        try {
            v = Double.parseDouble(a);
        } catch (NumberFormatException e) {
            v = Double.NaN;
        }
        if (!(v >= 0 && v <= 1)) {
            throw new EngineException("-D" + ALPHA_PROPERTY + " must be a number in [0, 1] or off, got '" + a + "'");
        }
        return java.util.OptionalDouble.of(v);
    }

    /** A matrix's paired second moments: {@code H̃} (as a GPTQ Hessian) and {@code C}, row-major. */
    public record Moments(Hessian hessian, double[] cross) {
        /** The same for rows padded with always-zero inputs up to {@code padded} columns. */
        Moments padded(int padded) {
            int cols = hessian.cols();
            if (padded == cols) {
                return this;
            }
            double[] c = new double[padded * padded];
            for (int i = 0; i < cols; i++) {
                System.arraycopy(cross, i * cols, c, i * padded, cols);
            }
            return new Moments(hessian.padded(padded), c);
        }

        /**
         * The rows {@code w* = w + α·w·(Cᵀ − H̃)·(H̃ + λI)⁻¹} of {@code src}: the minimum of
         * {@code α·‖w·X − ŵ·X̃‖² + (1 − α)·‖w·X̃ − ŵ·X̃‖² + λ·‖ŵ − w‖²} (per token, up to the factor 2/n), with
         * {@code (H̃ + λI)⁻¹ = UᵀU} taken from GPTQ's factor of this H̃ ({@link Gptq#factor}: its dampening λ, dead inputs
         * with 1 on the diagonal), which GPTQ then uses to round the rows.
         */
        public RowSource target(RowSource src, Gptq.Factor f, double alpha) {
            int rows = src.rows(), cols = src.cols();
            if (cols != hessian.cols() || f.cols() != cols) {
                throw new IllegalArgumentException("paired moments of " + hessian.cols() + " columns, a factor of " + f.cols() + ", rows of " + cols);
            }
            if (f.options().actOrder()) {
                throw new IllegalArgumentException("paired inputs need GPTQ's factor in the stored column order (no act-order)");
            }
            double[] h = hessian.h(), u = f.u(), d = new double[cols * cols];
            Parallel.forRange((cols + 63) / 64, 1, (b0, b1) -> { // in 64×64 tiles: a transposed read strides by whole rows
                for (int i0 = 64 * b0; i0 < Math.min(cols, 64 * b1); i0 += 64) {
                    for (int j0 = 0; j0 < cols; j0 += 64) {
                        for (int i = i0; i < Math.min(cols, i0 + 64); i++) {
                            for (int j = j0; j < Math.min(cols, j0 + 64); j++) {
                                d[i * cols + j] = h[i * cols + j] - cross[j * cols + i]; // H̃ − Cᵀ: the products subtract
                            }
                        }
                    }
                }
            });
            float[][] out = new float[rows][];
            Parallel.forRange((rows + TILE - 1) / TILE, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    int r0 = t * TILE, n = Math.min(TILE, rows - r0);
                    double[] w = new double[n * cols], v = new double[n * cols], z = new double[n * cols];
                    float[] row = new float[cols];
                    for (int k = 0; k < n; k++) {
                        src.row(r0 + k, row);
                        for (int j = 0; j < cols; j++) {
                            w[k * cols + j] = row[j];
                        }
                    }
                    // v = w·(Cᵀ − H̃); z = −v·Uᵀ (Uᵀ's row j is zero right of j); v = −z·U (U's row j is zero left of j)
                    DoubleMatrices.multiplySubtract(v, 0, cols, w, 0, cols, d, 0, cols, n, cols, cols);
                    for (int j0 = 0; j0 < cols; j0 += BLOCK) {
                        int j1 = Math.min(cols, j0 + BLOCK);
                        DoubleMatrices.multiplySubtractTransposed(z, 0, cols, v, j0, cols, u, j0, cols, n, j1, j1 - j0);
                    }
                    java.util.Arrays.fill(v, 0);
                    for (int j0 = 0; j0 < cols; j0 += BLOCK) {
                        int j1 = Math.min(cols, j0 + BLOCK);
                        DoubleMatrices.multiplySubtract(v, j0, cols, z, j0, cols, u, j0 * cols + j0, cols, n, cols - j0, j1 - j0);
                    }
                    for (int k = 0; k < n; k++) { // v = v·UᵀU now
                        out[r0 + k] = new float[cols];
                        for (int j = 0; j < cols; j++) {
                            out[r0 + k][j] = (float) (w[k * cols + j] + alpha * v[k * cols + j]);
                        }
                    }
                }
            });
            return RowSource.of(out);
        }
    }

    /** Rows per tile of {@link Moments#target} (each tile streams the cols² matrices once) and rows of U per product. */
    private static final int TILE = 128, BLOCK = 128;

    /**
     * Runs layer N of {@code reference} and {@code current} over the calibration windows and returns the paired
     * moments of the matrices {@code names} (names of both models' matrices, all in layer N, {@code blk.N.…}). The
     * two models' hidden states are caught up to layer N first; the reference's then move past it, the current
     * model's stay (its layer N is about to be quantized, and the next call catches up through the quantized one).
     */
    public static Map<String, Moments> collect(ModelWeights reference, ModelWeights current, Set<String> names, LayerInputs refInputs,
                                               LayerInputs curInputs) {
        int layer = LayerInputs.layerOf(names);
        refInputs.catchUp(reference, layer);
        curInputs.catchUp(current, layer);
        Map<WeightMatrix, String> refNames = byMatrix(reference, names), curNames = byMatrix(current, names);
        Map<String, ArrayDeque<float[]>> recorded = new HashMap<>();
        // Per name: {H̃'s upper triangle, C} and the inputs counted; matrices that take one input (q/k/v, gate/up) share
        // them, so that their sums are made once and GPTQ factors their H̃ once.
        Map<String, double[][]> sums = new LinkedHashMap<>();
        Map<double[][], long[]> counts = new IdentityHashMap<>();
        Last ref = new Last(), cur = new Last();
        TransformerModel refModel = TransformerModel.create(reference), curModel = TransformerModel.create(current);
        refModel.setObserver((w, x, n) -> {
            String name = refNames.get(w);
            if (name != null) {
                float[] copy = ref.same(x, n, w.cols()) ? ref.copy : java.util.Arrays.copyOf(x, n * w.cols());
                ref.copy = copy;
                recorded.computeIfAbsent(name, k -> new ArrayDeque<>()).add(copy);
            }
        });
        curModel.setObserver((w, x, n) -> {
            String name = curNames.get(w);
            if (name == null) {
                return;
            }
            ArrayDeque<float[]> q = recorded.get(name);
            float[] xr = q == null ? null : q.poll();
            if (xr == null || xr.length != n * w.cols()) {
                throw new IllegalStateException("the two models' inputs to " + name + " do not pair up");
            }
            int cols = w.cols();
            boolean same = cur.same(x, n, cols) && xr == cur.copy;
            double[][] s = sums.get(name);
            if (s == null && same) {
                s = cur.sums; // the partner just added this very input pair
                sums.put(name, s);
            } else if (s == null || s != cur.sums || !same) {
                if (s == null) {
                    s = new double[][] {new double[cols * cols], new double[cols * cols]};
                    sums.put(name, s);
                }
                accumulate(s[0], s[1], x, xr, n, cols);
                counts.computeIfAbsent(s, k -> new long[1])[0] += n;
            }
            cur.copy = xr;
            cur.sums = s;
        });
        try {
            InferenceState rs = refInputs.newState(refModel), cs = curInputs.newState(curModel);
            for (int w = 0; w < refInputs.windows(); w++) {
                int n = refInputs.size(w);
                refModel.runLayer(rs, layer, refInputs.hidden(w), n);
                curModel.runLayer(cs, layer, curInputs.hidden(w).clone(), n);
                recorded.clear();
            }
            refInputs.passed();
        } finally {
            refModel.setObserver(null);
            curModel.setObserver(null);
        }
        Map<String, Moments> out = new LinkedHashMap<>();
        Map<double[][], Moments> made = new IdentityHashMap<>();
        sums.forEach((name, s) -> out.put(name, made.computeIfAbsent(s, k -> moments(k, counts.get(k)[0]))));
        return out;
    }

    /** The last input an observer saw: the same array with the same contents is the same input (q, k and v in a row). */
    private static final class Last {
        float[] x, copy;
        int n;
        long hash;
        double[][] sums;

        boolean same(float[] in, int count, int cols) {
            long h = 1;
            for (int i = 0; i < count * cols; i++) {
                h = 31 * h + Float.floatToRawIntBits(in[i]);
            }
            boolean same = in == x && count == n && h == hash;
            x = in;
            n = count;
            hash = h;
            return same;
        }
    }

    private static Moments moments(double[][] s, long n) {
        int cols = (int) Math.round(Math.sqrt(s[0].length));
        double f = 2.0 / n;
        double[] h = new double[cols * cols], c = s[1];
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                double v = f * s[0][i * cols + j];
                h[i * cols + j] = v;
                h[j * cols + i] = v;
            }
        }
        for (int i = 0; i < c.length; i++) {
            c[i] *= f;
        }
        return new Moments(new Hessian(cols, n, h), c);
    }

    private static Map<WeightMatrix, String> byMatrix(ModelWeights weights, Set<String> names) {
        Map<WeightMatrix, String> out = new IdentityHashMap<>();
        for (String n : names) {
            WeightMatrix m = weights.matrices().get(n);
            if (m == null) {
                throw new EngineException("no matrix " + n + " in " + weights.source());
            }
            out.put(m, n);
        }
        return out;
    }

    /** H̃'s upper triangle += Σ_t x̃_t x̃_tᵀ and C += Σ_t x̃_t x_tᵀ. */
    private static void accumulate(double[] h, double[] c, float[] xq, float[] x, int n, int cols) {
        DoubleMatrices.addTransposedProduct(h, xq, xq, n, cols, true);
        DoubleMatrices.addTransposedProduct(c, xq, x, n, cols, false);
    }
}

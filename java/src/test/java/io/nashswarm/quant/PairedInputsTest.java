package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.util.Progress;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.LUDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class PairedInputsTest {
    /** Moments as the class defines them, straight from the inputs: H̃ = 2·X̃ᵀX̃/n, C = 2·X̃ᵀX/n. */
    private static PairedInputs.Moments moments(double[][] x, double[][] xq) {
        int n = x.length, cols = x[0].length;
        double[] h = new double[cols * cols], c = new double[cols * cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                double sh = 0, sc = 0;
                for (int k = 0; k < n; k++) {
                    sh += xq[k][i] * xq[k][j];
                    sc += xq[k][i] * x[k][j];
                }
                h[i * cols + j] = 2 * sh / n;
                c[i * cols + j] = 2 * sc / n;
            }
        }
        return new PairedInputs.Moments(new Hessian(cols, n, h), c);
    }

    /**
     * The target minimises α·‖w·X − ŵ·X̃‖² + (1 − α)·‖w·X̃ − ŵ·X̃‖² + λ'‖ŵ − w‖²: its normal equations, written from the
     * inputs and solved by LU in float64 (Commons Math), give the same rows within float rounding.
     */
    @Test
    void targetSolvesTheBlendedLeastSquares() {
        Random rnd = new Random(5);
        for (int cols : new int[] {7, 40, 67}) {
            int n = 3 * cols, rowsN = 5;
            double[][] x = new double[n][cols], xq = new double[n][cols];
            for (int k = 0; k < n; k++) {
                for (int j = 0; j < cols; j++) {
                    x[k][j] = rnd.nextGaussian() * (1 + j % 3);
                    xq[k][j] = x[k][j] + 0.3 * rnd.nextGaussian();
                }
            }
            float[][] w = new float[rowsN][cols];
            for (float[] r : w) {
                for (int j = 0; j < cols; j++) {
                    r[j] = (float) rnd.nextGaussian();
                }
            }
            PairedInputs.Moments m = moments(x, xq);
            for (double alpha : new double[] {0, 0.5, 1}) {
                double damp = 0.01;
                RowSource t = m.target(RowSource.of(w), Gptq.factor(m.hessian(), new Gptq.Options(damp, false, 128, Gptq.ScaleSearch.SWEPT, 0)), alpha);
                // (X̃ᵀX̃ + μI)·ŵᵀ = (α·X̃ᵀX + (1 − α)·X̃ᵀX̃ + μI)·wᵀ, μ = damp·mean diag(X̃ᵀX̃) (the moments' 2/n cancels)
                RealMatrix a = new Array2DRowRealMatrix(cols, cols), b = new Array2DRowRealMatrix(cols, cols);
                double mean = 0;
                for (int i = 0; i < cols; i++) {
                    for (int j = 0; j < cols; j++) {
                        double sqq = 0, sqx = 0;
                        for (int k = 0; k < n; k++) {
                            sqq += xq[k][i] * xq[k][j];
                            sqx += xq[k][i] * x[k][j];
                        }
                        a.setEntry(i, j, sqq);
                        b.setEntry(i, j, alpha * sqx + (1 - alpha) * sqq);
                    }
                    mean += a.getEntry(i, i) / cols;
                }
                for (int i = 0; i < cols; i++) {
                    a.addToEntry(i, i, damp * mean);
                    b.addToEntry(i, i, damp * mean);
                }
                var solver = new LUDecomposition(a).getSolver();
                float[] got = new float[cols];
                for (int r = 0; r < rowsN; r++) {
                    double[] wr = new double[cols];
                    for (int j = 0; j < cols; j++) {
                        wr[j] = w[r][j];
                    }
                    double[] want = solver.solve(b.operate(new org.apache.commons.math3.linear.ArrayRealVector(wr))).toArray();
                    t.row(r, got);
                    double scale = 0;
                    for (double v : want) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    for (int j = 0; j < cols; j++) {
                        assertEquals(want[j], got[j], 1e-5 * scale, cols + " columns, alpha " + alpha + ", row " + r + ", column " + j);
                    }
                }
            }
        }
    }

    @Test
    void inputsThatAgreeLeaveTheRowsAlone() {
        Random rnd = new Random(6);
        int cols = 33, n = 80;
        double[][] x = new double[n][cols];
        for (double[] r : x) {
            for (int j = 0; j < cols; j++) {
                r[j] = j == 5 ? 0 : rnd.nextGaussian(); // a dead input too
            }
        }
        float[][] w = new float[3][cols];
        for (float[] r : w) {
            for (int j = 0; j < cols; j++) {
                r[j] = (float) rnd.nextGaussian();
            }
        }
        PairedInputs.Moments m = moments(x, x);
        RowSource t = m.target(RowSource.of(w), Gptq.factor(m.hessian(), Gptq.Options.defaults()), 1);
        float[] got = new float[cols];
        for (int r = 0; r < w.length; r++) {
            t.row(r, got);
            assertArrayEquals(w[r], got, 0f, "row " + r);
        }
    }

    /**
     * collect pairs the two models' inputs call by call: H̃ is the current model's Hessian, and C = H̃ when the models agree.
     * Within float rounding only: two runs of one forward pass differ in the last bits once C2 compiles the Vector API
     * reductions (lanes added in another order than the interpreter's).
     */
    @Test
    void collectPairsTheModelsInputs() {
        try (ModelWeights w = TinyModels.llama(64, 96, 2, 50, 5);
             ModelQuantizer.QuantizedModel q = ModelQuantizer.quantize(w, Recipe.INT2, QuantSettings.defaults(), null, Progress.none())) {
            int[] tokens = new Random(6).ints(300, 0, 50).toArray();
            Set<String> names = Set.of("blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.1.ffn_down.weight");
            for (ModelWeights current : new ModelWeights[] {w, q.weights()}) {
                Map<String, PairedInputs.Moments> got = PairedInputs.collect(w, current, names, new LayerInputs(tokens, 64), new LayerInputs(tokens, 64));
                assertSame(got.get("blk.1.attn_q.weight"), got.get("blk.1.attn_k.weight"), "q and k take one input: one set of moments");
                ActivationStats stats = ActivationStats.collect(TransformerModel.create(current), tokens, 64, true, Progress.none());
                Map<String, Hessian> want = stats.hessiansByName(current);
                for (String name : names) {
                    PairedInputs.Moments m = got.get(name);
                    double[] h = m.hessian().h(), e = want.get(name).h(), c = m.cross();
                    assertEquals(want.get(name).count(), m.hessian().count(), name);
                    double max = 0, diffH = 0, diffC = 0;
                    for (int i = 0; i < h.length; i++) {
                        max = Math.max(max, Math.abs(e[i]));
                        diffH = Math.max(diffH, Math.abs(h[i] - e[i]));
                        diffC = Math.max(diffC, Math.abs(c[i] - h[i]));
                    }
                    // a quantized model's activation tables (int2's hold 8-bit entries) turn such last-bit differences into
                    // larger ones: 1.4e-3 once in a full run of the suite, where more of the forward pass was compiled
                    assertTrue(diffH <= (current == w ? 1e-5 : 5e-3) * max, name + (current == w ? " (same model)" : " (quantized)") + ": H̃ differs from the current model's Hessian by " + diffH / max + " relative");
                    if (current == w) {
                        assertTrue(diffC <= 1e-5 * max, name + ": C differs from H̃ by " + diffC + " with the same model twice");
                    } else {
                        assertTrue(diffC > 1e-2 * max, name + ": the quantized model's inputs should differ from the original's");
                    }
                }
            }
        }
    }

    /** Runs {@code body} with {@link PairedInputs#ALPHA_PROPERTY} set to {@code value}, then restores it. */
    static void withAlpha(String value, Runnable body) {
        String before = System.getProperty(PairedInputs.ALPHA_PROPERTY);
        System.setProperty(PairedInputs.ALPHA_PROPERTY, value);
        try {
            body.run();
        } finally {
            if (before == null) {
                System.clearProperty(PairedInputs.ALPHA_PROPERTY);
            } else {
                System.setProperty(PairedInputs.ALPHA_PROPERTY, before);
            }
        }
    }

    @Test
    void alphaIsANumberInTheUnitIntervalOrOff() {
        withAlpha("off", () -> assertTrue(PairedInputs.alpha().isEmpty()));
        withAlpha("0.25", () -> assertEquals(0.25, PairedInputs.alpha().getAsDouble()));
        for (String bad : new String[] {"1.5", "-0.1", "half", "NaN"}) {
            withAlpha(bad, () -> {
                EngineException e = assertThrows(EngineException.class, PairedInputs::alpha);
                assertTrue(e.getMessage().contains(PairedInputs.ALPHA_PROPERTY), e.getMessage());
            });
        }
    }
}

package io.nashswarm.quant;

import io.nashswarm.eval.Divergence;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The seeds' question: does weight MSE predict functional distortion? For every method and every body
 * matrix: the weight MSE {@code mean (w − ŵ)²} and the functional MSE, the mean squared error of the
 * layer's outputs on the calibration inputs, {@code (1/rows)·Σ_r E_t[(e_r·x_t)²] = (1/rows)·Σ_r ½·e_rᵀ·H·e_r}
 * (exact for H = 2·XᵀX/n). Then Pearson and Spearman correlations of their logarithms with two-sided
 * p-values (Pearson's from Commons Math; Spearman's from the same t statistic on the ranks).
 */
public final class DistortionStudy {
    private DistortionStudy() {}

    /** One matrix under one method. */
    public record Point(String method, String matrix, double weightMse, double functionalMse) {}

    /** A correlation of log weight MSE against log functional MSE over {@code n} points. */
    public record Correlation(String over, int n, double pearson, double pearsonP, double spearman, double spearmanP) {}

    /**
     * One method over the whole model: weight MSE and layer output MSE averaged over its body matrices'
     * weights, and what the model's outputs do on held-out text (logits MSE, KLD, top-1 vs FP32).
     */
    public record MethodRow(String method, double bitsPerWeight, double weightMse, double functionalMse, Divergence.Result heldOut) {}

    /** Every (method, matrix) point and every method's row. */
    public record Study(List<Point> points, List<MethodRow> methods) {}

    /**
     * Quantizes with every method and measures every body matrix that has a Hessian, and the whole model
     * against {@code heldOut} (the FP32 model's outputs on text disjoint from the calibration).
     */
    public static Study measure(ModelWeights src, List<Recipe> recipes, List<QuantSettings> settings, Calibration cal, Divergence.Reference heldOut,
                                Progress progress) {
        List<Point> out = new ArrayList<>();
        List<MethodRow> rows = new ArrayList<>();
        for (int i = 0; i < recipes.size(); i++) {
            Recipe r = recipes.get(i);
            QuantSettings s = settings.get(i);
            String method = r.provenanceName(s);
            progress.message(method);
            try (ModelQuantizer.QuantizedModel q = ModelQuantizer.quantizeCalibrated(src, r, s, cal, Progress.none())) {
                double weights = 0, sq = 0, fn = 0;
                for (Map.Entry<String, WeightMatrix> e : src.matrices().entrySet()) {
                    String name = e.getKey();
                    Hessian h = cal.hessians().get(name);
                    if (ModelQuantizer.EMBEDDINGS.contains(name) || h == null) {
                        continue;
                    }
                    Point p = point(method, name, e.getValue(), q.weights().matrix(name), h);
                    out.add(p);
                    double n = (double) e.getValue().rows() * e.getValue().cols();
                    weights += n;
                    sq += p.weightMse() * n;
                    fn += p.functionalMse() * n;
                }
                Divergence.Result d = Divergence.against(TransformerModel.create(q.weights()), heldOut, Progress.none());
                rows.add(new MethodRow(method, q.report().bitsPerMatrixWeight(), sq / weights, fn / weights, d));
            }
            progress.step(1);
        }
        return new Study(out, rows);
    }

    /** Correlations of log weight MSE against log logits MSE and log KLD across the methods' rows. */
    public static List<Correlation> acrossMethods(List<MethodRow> rows) {
        List<Point> logits = new ArrayList<>(), kld = new ArrayList<>();
        for (MethodRow m : rows) {
            logits.add(new Point(m.method(), "model", m.weightMse(), m.heldOut().logitsMse()));
            kld.add(new Point(m.method(), "model", m.weightMse(), m.heldOut().meanKld()));
        }
        return List.of(correlate("across methods, model: weight MSE vs held-out logits MSE", logits),
                correlate("across methods, model: weight MSE vs held-out KLD", kld));
    }

    static Point point(String method, String name, WeightMatrix w, WeightMatrix q, Hessian h) {
        int rows = w.rows(), cols = w.cols();
        float[] a = new float[cols], b = new float[cols];
        double[] e = new double[cols];
        double sq = 0, fn = 0;
        for (int r = 0; r < rows; r++) {
            w.dequantizeRow(r, a, 0);
            q.dequantizeRow(r, b, 0);
            for (int c = 0; c < cols; c++) {
                e[c] = (double) a[c] - b[c];
                sq += e[c] * e[c];
            }
            fn += 0.5 * h.quadratic(e, 0, 0, cols);
        }
        return new Point(method, name, sq / ((double) rows * cols), fn / rows);
    }

    /** Correlation over the given points (all positive MSEs; exact zeros are left out since their log is undefined). */
    public static Correlation correlate(String over, List<Point> points) {
        List<double[]> xy = new ArrayList<>();
        for (Point p : points) {
            if (p.weightMse() > 0 && p.functionalMse() > 0) {
                xy.add(new double[] {Math.log10(p.weightMse()), Math.log10(p.functionalMse())});
            }
        }
        int n = xy.size();
        if (n < 3) {
            return new Correlation(over, n, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] x = xy.stream().mapToDouble(v -> v[0]).toArray(), y = xy.stream().mapToDouble(v -> v[1]).toArray();
        double[][] m = new double[n][];
        for (int i = 0; i < n; i++) {
            m[i] = new double[] {x[i], y[i]};
        }
        PearsonsCorrelation pc = new PearsonsCorrelation(m);
        double pr = pc.getCorrelationMatrix().getEntry(0, 1), pp = pc.getCorrelationPValues().getEntry(0, 1);
        double sr = new SpearmansCorrelation().correlation(x, y);
        return new Correlation(over, n, pr, pp, sr, tTestP(sr, n));
    }

    /** Two-sided p-value of a correlation r over n points: t = r·sqrt((n−2)/(1−r²)), n−2 degrees of freedom. */
    static double tTestP(double r, int n) {
        if (Math.abs(r) >= 1) {
            return 0;
        }
        double t = Math.abs(r) * Math.sqrt((n - 2) / (1 - r * r));
        return 2 * (1 - new TDistribution(n - 2).cumulativeProbability(t));
    }

    /** A 4-bit type on Gaussian weights against the rate–distortion bound. */
    public record Gaussian(String type, double bitsPerWeight, double mse, double bound, double gapBits) {}

    /**
     * NF4, FP4 and int4 (groups of 64, fp16 scales: 4.25 bits/weight) on {@code n} standard normal
     * weights, against the Gaussian bound D(R) = σ²·4^(−R) at the same real R; the gap in bits is
     * ½·log2(MSE / D(R)).
     */
    public static List<Gaussian> gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        int cols = 1024, rows = n / cols;
        float[][] w = new float[rows][cols];
        double var = 0;
        for (float[] row : w) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) rnd.nextGaussian();
                var += (double) row[c] * row[c];
            }
        }
        var /= (double) rows * cols;
        List<Gaussian> out = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            for (QuantType t : new QuantType[] {QuantType.NF4, QuantType.FP4, QuantType.INT4}) {
                WeightMatrix q = TensorQuantizer.uniform(RowSource.of(w), t, GroupSpec.symmetric(64), arena);
                double sq = 0;
                float[] b = new float[cols];
                for (int r = 0; r < rows; r++) {
                    q.dequantizeRow(r, b, 0);
                    for (int c = 0; c < cols; c++) {
                        double d = w[r][c] - b[c];
                        sq += d * d;
                    }
                }
                double mse = sq / ((double) rows * cols), bpw = 8.0 * q.storageBytes() / ((double) rows * cols);
                double bound = var * Math.pow(4, -bpw);
                out.add(new Gaussian(t.label() + " g64", bpw, mse, bound, 0.5 * Math.log(mse / bound) / Math.log(2)));
            }
        }
        return out;
    }
}

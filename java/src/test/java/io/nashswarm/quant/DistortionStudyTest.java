package io.nashswarm.quant;

import io.nashswarm.eval.Divergence;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class DistortionStudyTest {
    /** Pearson's r of two samples, written out (the study uses Commons Math). */
    private static double pearson(double[] x, double[] y) {
        double mx = Arrays.stream(x).average().orElseThrow(), my = Arrays.stream(y).average().orElseThrow();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    @Test
    void measuresEveryMethodAndMatrixAndCorrelatesTheData() {
        try (ModelWeights w = TinyModels.llama(64, 96, 2, 50, 5)) {
            TransformerModel model = TransformerModel.create(w);
            int[] calib = new Random(1).ints(400, 0, 50).toArray();
            int[] heldOut = new Random(2).ints(120, 0, 50).toArray();
            ActivationStats a = ActivationStats.collect(model, calib, 64, true, Progress.none());
            Calibration cal = new Calibration(a.byName(w), a.meanAbsByName(w), a.hessiansByName(w), calib.length, "400 random tokens");
            Divergence.Reference ref = Divergence.reference(model, heldOut, 64, 32, Progress.none());
            List<Recipe> recipes = List.of(Recipe.INT8, Recipe.INT2, Recipe.GPTQ_INT4, Recipe.GPTQ_INT2);
            QuantSettings base = QuantSettings.defaults();
            List<QuantSettings> settings = List.of(base, base, base, base);
            DistortionStudy.Study s = DistortionStudy.measure(w, recipes, settings, cal, ref, Progress.none());
            assertEquals(4, s.methods().size());
            assertEquals(4 * 2 * 7, s.points().size(), "every method × every body matrix (2 layers × 7)");
            DistortionStudy.MethodRow int8 = s.methods().get(0), int2 = s.methods().get(1);
            for (DistortionStudy.MethodRow m : s.methods()) {
                assertTrue(m.weightMse() > 0 && m.functionalMse() > 0 && m.heldOut().logitsMse() > 0 && m.heldOut().meanKld() > 0, m.toString());
                assertTrue(m.heldOut().top1Agreement() > 0 && m.heldOut().top1Agreement() <= 1, m.toString());
            }
            assertTrue(int8.weightMse() < int2.weightMse() / 20 && int8.heldOut().logitsMse() < int2.heldOut().logitsMse() / 20,
                    int8 + " vs " + int2);
            assertTrue(int8.heldOut().top1Agreement() > int2.heldOut().top1Agreement());

            // Correlations come from the points: recompute Pearson on the logs independently.
            List<double[]> xy = new ArrayList<>();
            for (DistortionStudy.Point p : s.points()) {
                xy.add(new double[] {Math.log10(p.weightMse()), Math.log10(p.functionalMse())});
            }
            DistortionStudy.Correlation all = DistortionStudy.correlate("all", s.points());
            assertEquals(s.points().size(), all.n());
            assertEquals(pearson(xy.stream().mapToDouble(v -> v[0]).toArray(), xy.stream().mapToDouble(v -> v[1]).toArray()), all.pearson(), 1e-12);
            assertTrue(all.pearsonP() >= 0 && all.pearsonP() < 0.05 && all.spearman() > 0.5, all.toString());
            List<DistortionStudy.Correlation> methods = DistortionStudy.acrossMethods(s.methods());
            double[] x = s.methods().stream().mapToDouble(m -> Math.log10(m.weightMse())).toArray();
            double[] y = s.methods().stream().mapToDouble(m -> Math.log10(m.heldOut().logitsMse())).toArray();
            assertEquals(pearson(x, y), methods.getFirst().pearson(), 1e-12);
            // A permuted pairing must give another correlation: the numbers depend on the data, not on a constant.
            List<DistortionStudy.Point> shuffled = new ArrayList<>();
            for (int i = 0; i < s.points().size(); i++) {
                DistortionStudy.Point p = s.points().get(i), q = s.points().get((i * 7 + 3) % s.points().size());
                shuffled.add(new DistortionStudy.Point(p.method(), p.matrix(), p.weightMse(), q.functionalMse()));
            }
            assertNotEquals(all.pearson(), DistortionStudy.correlate("shuffled", shuffled).pearson(), 1e-3);
        }
    }

    @Test
    void spearmanPValueMatchesTheTDistribution() {
        // r = 0.5 over 12 points: t = 0.5·sqrt(10/0.75) = 1.8257, two-sided p = 0.0979 (t table, 10 df)
        assertEquals(0.0979, DistortionStudy.tTestP(0.5, 12), 5e-4);
    }
}

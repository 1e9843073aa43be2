package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.InferenceState;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class AwqTest {
    private static double[] logits(ModelWeights w, int[] tokens) {
        TransformerModel m = TransformerModel.create(w);
        InferenceState s = m.newState(tokens.length);
        double[] out = new double[0];
        for (int t = 0; t < tokens.length; t++) { // every position's logits, one token at a time
            float[] l = m.forward(s, tokens, t, 1);
            double[] grown = java.util.Arrays.copyOf(out, out.length + l.length);
            for (int i = 0; i < l.length; i++) {
                grown[out.length + i] = l[i];
            }
            out = grown;
        }
        return out;
    }

    @Test
    void foldedScalesLeaveTheFloatFunctionUnchanged() {
        for (int kvHeads : new int[] {4, 2}) { // per-head v (attn_output folded into v) and grouped-query (attn_output left alone)
            try (ModelWeights w = TinyModels.llama(64, 96, 2, kvHeads, 50, 7)) {
                Random rnd = new Random(1);
                Map<String, float[]> scales = new LinkedHashMap<>();
                for (Awq.Input in : Awq.inputs(w)) {
                    float[] s = new float[w.matrix(in.matrices().getFirst()).cols()];
                    for (int c = 0; c < s.length; c++) {
                        s[c] = (float) Math.exp(rnd.nextGaussian() * 0.7); // factors from ~0.1 to ~10
                    }
                    scales.put(in.name(), s);
                }
                assertEquals(kvHeads == 4 ? 8 : 6, scales.size());
                int[] tokens = new Random(2).ints(20, 0, 50).toArray();
                double[] a = logits(w, tokens);
                try (ModelWeights folded = Awq.fold(w, scales)) {
                    assertNotSame(w.matrix("blk.0.attn_q.weight"), folded.matrix("blk.0.attn_q.weight"));
                    double[] b = logits(folded, tokens);
                    double num = 0, den = 0;
                    for (int i = 0; i < a.length; i++) {
                        num += (a[i] - b[i]) * (a[i] - b[i]);
                        den += a[i] * a[i];
                    }
                    double rel = Math.sqrt(num / den);
                    assertTrue(rel < 1e-6, "relative logit change " + rel + " with kv heads " + kvHeads);
                }
            }
        }
    }

    @Test
    void searchLowersTheOutputErrorAndQuantizes() {
        try (ModelWeights w = TinyModels.llama(64, 96, 2, 4, 50, 3)) {
            int[] tokens = new Random(4).ints(300, 0, 50).toArray();
            ActivationStats stats = ActivationStats.collect(TransformerModel.create(w), tokens, 60, true, Progress.none());
            Calibration cal = new Calibration(stats.byName(w), stats.meanAbsByName(w), stats.hessiansByName(w), tokens.length, "random tokens");
            Awq.Search found = Awq.search(w, QuantType.INT4, false, new GroupRule(64, QuantType.F16), cal.meanAbs(), cal.hessians());
            assertEquals(8, found.scales().size());
            try (ModelQuantizer.QuantizedModel q = ModelQuantizer.quantizeCalibrated(w, Recipe.AWQ_INT4, QuantSettings.defaults(), cal, Progress.none())) {
                assertEquals(QuantType.INT4, q.weights().matrix("blk.1.ffn_down.weight").type());
                assertTrue(q.report().toMarkdown().contains("AWQ blk.0.attn_in"));
            }
            assertThrows(EngineException.class, () -> ModelQuantizer.quantizeCalibrated(w, Recipe.AWQ_INT4, QuantSettings.defaults(),
                    new Calibration(cal.meanSquares(), null, null, 300, "no Hessians"), Progress.none()));
        }
    }
}

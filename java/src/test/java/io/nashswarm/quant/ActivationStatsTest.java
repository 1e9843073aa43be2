package io.nashswarm.quant;

import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ActivationStatsTest {
    @Test
    void meanSquaresEqualADirectFloat64Computation() {
        try (ModelWeights w = TinyModels.llama(64, 96, 2, 50, 3)) {
            int[] tokens = new Random(5).ints(150, 0, 50).toArray();
            TransformerModel model = TransformerModel.create(w);
            // 150 tokens in windows of 64: 64 + 64 + 22, each window a fresh sequence.
            ActivationStats stats = ActivationStats.collect(model, tokens, 64, Progress.none());

            // Layer 0's q/k/v input depends on the token alone: RMSNorm(embedding) · attn_norm, in float64.
            WeightMatrix emb = w.matrix("token_embd.weight");
            float[] norm = w.vector("blk.0.attn_norm.weight");
            double[] expected = new double[64];
            float[] e = new float[64];
            for (int t : tokens) {
                emb.dequantizeRow(t, e, 0);
                double ss = 0;
                for (float v : e) {
                    ss += (double) v * v;
                }
                double inv = 1 / Math.sqrt(ss / 64 + 1e-5);
                for (int c = 0; c < 64; c++) {
                    double x = norm[c] * inv * e[c];
                    expected[c] += x * x / tokens.length;
                }
            }
            for (String name : new String[] {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
                WeightMatrix m = w.matrix(name);
                assertEquals(tokens.length, stats.count(m), name);
                float[] got = stats.meanSquares(m);
                for (int c = 0; c < 64; c++) {
                    assertEquals(expected[c], got[c], 1e-5 * expected[c], name + " channel " + c);
                }
            }
            // Every matrix: the mean of x² over exactly the rows it was given, recorded in a second run. The two runs agree
            // to float32 rounding through the layers (1e-6 seen), far below what a wrong row set or count would change.
            Map<WeightMatrix, List<float[]>> seen = new IdentityHashMap<>();
            model.setObserver((m, x, n) -> {
                for (int b = 0; b < n; b++) {
                    float[] row = new float[m.cols()];
                    System.arraycopy(x, b * m.cols(), row, 0, m.cols());
                    seen.computeIfAbsent(m, k -> new ArrayList<>()).add(row);
                }
            });
            var state = model.newState(64);
            for (int s = 0; s < tokens.length; s += 64) {
                state.reset();
                model.forward(state, tokens, s, Math.min(64, tokens.length - s));
            }
            model.setObserver(null);
            Map<String, float[]> byName = stats.byName(w);
            for (String name : w.matrices().keySet()) {
                WeightMatrix m = w.matrix(name);
                List<float[]> rows = seen.get(m);
                if (rows == null) {
                    assertNull(byName.get(name), name + " was never multiplied (the embedding is looked up)");
                    continue;
                }
                assertEquals(rows.size(), stats.count(m), name);
                for (int c = 0; c < m.cols(); c++) {
                    double sum = 0;
                    for (float[] row : rows) {
                        sum += (double) row[c] * row[c];
                    }
                    assertEquals(sum / rows.size(), byName.get(name)[c], 1e-4 * sum / rows.size() + 1e-30, name + " channel " + c);
                }
            }
            // The head sees only the last position of each window (3 windows); the FFN down input has the hidden width.
            assertEquals(3, stats.count(w.matrix("output.weight")));
            assertEquals(96, byName.get("blk.1.ffn_down.weight").length);
        }
    }
}

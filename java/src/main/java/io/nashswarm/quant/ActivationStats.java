package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.ActivationObserver;
import io.nashswarm.model.InferenceState;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Mean squared input per channel, E[x_c²], of every matrix of a model over calibration tokens (the
 * statistic of llama.cpp's imatrix and AWQ). Install it with {@link TransformerModel#setObserver}, or
 * let {@link #collect} run the model. Sums are kept in float64.
 */
public final class ActivationStats implements ActivationObserver {
    private final Map<WeightMatrix, double[]> sums = new IdentityHashMap<>();
    private final Map<WeightMatrix, long[]> counts = new IdentityHashMap<>();

    @Override
    public void observe(WeightMatrix w, float[] x, int n) {
        int cols = w.cols();
        double[] s = sums.computeIfAbsent(w, k -> new double[cols]);
        for (int b = 0; b < n; b++) {
            for (int c = 0, at = b * cols; c < cols; c++, at++) {
                s[c] += (double) x[at] * x[at];
            }
        }
        counts.computeIfAbsent(w, k -> new long[1])[0] += n;
    }

    /** Input vectors seen by {@code w} (0 if none). */
    public long count(WeightMatrix w) {
        long[] c = counts.get(w);
        return c == null ? 0 : c[0];
    }

    /** E[x_c²] of {@code w}'s inputs, or null if it saw none. */
    public float[] meanSquares(WeightMatrix w) {
        double[] s = sums.get(w);
        if (s == null) {
            return null;
        }
        long n = count(w);
        float[] out = new float[s.length];
        for (int c = 0; c < s.length; c++) {
            out[c] = (float) (s[c] / n);
        }
        return out;
    }

    /** The statistics by canonical tensor name (a tied head's name maps to the same statistics). */
    public Map<String, float[]> byName(ModelWeights weights) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, WeightMatrix> e : weights.matrices().entrySet()) {
            float[] m = meanSquares(e.getValue());
            if (m != null) {
                out.put(e.getKey(), m);
            }
        }
        return out;
    }

    /**
     * Runs {@code model} over {@code tokens} in consecutive, non-overlapping windows of {@code window}
     * tokens (each a fresh sequence) and returns the statistics; progress counts tokens.
     */
    public static ActivationStats collect(TransformerModel model, int[] tokens, int window, Progress progress) {
        if (tokens.length == 0) {
            throw new EngineException("no calibration tokens");
        }
        if (window < 1 || window > model.config().contextLength()) {
            throw new EngineException("calibration window " + window + " is outside 1.." + model.config().contextLength());
        }
        ActivationStats stats = new ActivationStats();
        model.setObserver(stats);
        try {
            InferenceState state = model.newState(window);
            for (int start = 0; start < tokens.length; start += window) {
                int n = Math.min(window, tokens.length - start);
                state.reset();
                model.forward(state, tokens, start, n);
                progress.step(n);
            }
        } finally {
            model.setObserver(null);
        }
        return stats;
    }
}

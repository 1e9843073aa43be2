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
 *
 * <p>With {@code secondMoments}, it also accumulates {@code XᵀX} of every matrix (GPTQ's {@link Hessian}).
 * Matrices fed the very same input (q/k/v, gate/up) share one accumulation: the input of a product is
 * compared with the previous product's (same array, length and contents), which costs O(n·cols)
 * against the O(n·cols²) of an accumulation.
 */
public final class ActivationStats implements ActivationObserver {
    private final Map<WeightMatrix, double[]> sums = new IdentityHashMap<>();
    private final Map<WeightMatrix, long[]> counts = new IdentityHashMap<>();
    private final Map<WeightMatrix, double[]> absSums = new IdentityHashMap<>();
    private final boolean secondMoments;
    private final java.util.function.Predicate<WeightMatrix> momentsOf;
    private final Map<WeightMatrix, Moments> moments = new IdentityHashMap<>();
    private float[] lastX;
    private int lastN;
    private long lastHash;
    private Moments lastMoments;

    /** Upper triangle of Σ xxᵀ and how many inputs it holds; {@code users} matrices share it. */
    private static final class Moments {
        final int cols;
        final double[] s;
        long n;
        int users = 1;

        Moments(int cols) {
            this.cols = cols;
            this.s = new double[Math.multiplyExact(cols, cols)];
        }
    }

    public ActivationStats() {
        this(false);
    }

    public ActivationStats(boolean secondMoments) {
        this(secondMoments, m -> true);
    }

    /** Second moments of the matrices {@code momentsOf} accepts only (one layer's, when GPTQ goes layer by layer). */
    public ActivationStats(java.util.function.Predicate<WeightMatrix> momentsOf) {
        this(true, momentsOf);
    }

    private ActivationStats(boolean secondMoments, java.util.function.Predicate<WeightMatrix> momentsOf) {
        this.secondMoments = secondMoments;
        this.momentsOf = momentsOf;
    }

    @Override
    public void observe(WeightMatrix w, float[] x, int n) {
        int cols = w.cols();
        if (secondMoments && momentsOf.test(w)) {
            observeMoments(w, x, n);
        }
        double[] s = sums.computeIfAbsent(w, k -> new double[cols]);
        double[] a = absSums.computeIfAbsent(w, k -> new double[cols]);
        for (int b = 0; b < n; b++) {
            for (int c = 0, at = b * cols; c < cols; c++, at++) {
                s[c] += (double) x[at] * x[at];
                a[c] += Math.abs(x[at]);
            }
        }
        counts.computeIfAbsent(w, k -> new long[1])[0] += n;
    }

    private void observeMoments(WeightMatrix w, float[] x, int n) {
        int cols = w.cols();
        long hash = 1;
        for (int i = 0; i < n * cols; i++) {
            hash = 31 * hash + Float.floatToRawIntBits(x[i]);
        }
        boolean sameInput = x == lastX && n == lastN && hash == lastHash && lastMoments != null && lastMoments.cols == cols;
        Moments m = moments.get(w);
        if (m == null && sameInput) {
            m = lastMoments; // already holds this input: share it from now on
            m.users++;
            moments.put(w, m);
        } else if (m != null && m == lastMoments && sameInput) {
            // the partner that shares m already added this input
        } else {
            if (m == null) {
                m = new Moments(cols);
                moments.put(w, m);
            }
            accumulate(m, x, n);
        }
        lastX = x;
        lastN = n;
        lastHash = hash;
        lastMoments = m;
    }

    /** Adds the upper triangle of Σ_t x_t x_tᵀ. */
    private static void accumulate(Moments m, float[] x, int n) {
        DoubleMatrices.addTransposedProduct(m.s, x, x, n, m.cols, true);
        m.n += n;
    }

    /**
     * {@code H = 2·XᵀX / n} of {@code w}'s inputs, or null if it saw none.
     *
     * @throws IllegalStateException when the statistics were made without second moments
     */
    public Hessian hessian(WeightMatrix w) {
        if (!secondMoments) {
            throw new IllegalStateException("these statistics were collected without second moments");
        }
        Moments m = moments.get(w);
        if (m == null || m.n == 0) {
            return null;
        }
        if (m.n != count(w)) { // a partner accumulated an input this matrix did not see: the sharing was wrong
            throw new IllegalStateException("shared input statistics hold " + m.n + " inputs, the matrix saw " + count(w));
        }
        int cols = m.cols;
        double[] h = new double[cols * cols];
        double f = 2.0 / m.n;
        for (int i = 0; i < cols; i++) {
            for (int j = i; j < cols; j++) {
                double v = f * m.s[i * cols + j];
                h[i * cols + j] = v;
                h[j * cols + i] = v;
            }
        }
        return new Hessian(cols, m.n, h);
    }

    /** The Hessians by canonical tensor name; matrices that saw no input are left out. */
    public Map<String, Hessian> hessiansByName(ModelWeights weights) {
        Map<String, Hessian> out = new LinkedHashMap<>();
        Map<Moments, Hessian> done = new IdentityHashMap<>(); // shared inputs: one Hessian object
        for (Map.Entry<String, WeightMatrix> e : weights.matrices().entrySet()) {
            Moments m = moments.get(e.getValue());
            Hessian h = m == null ? null : done.computeIfAbsent(m, k -> hessian(e.getValue()));
            if (h != null) {
                out.put(e.getKey(), h);
            }
        }
        return out;
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

    /** E|x_c| of {@code w}'s inputs (AWQ's activation magnitude), or null if it saw none. */
    public float[] meanAbs(WeightMatrix w) {
        double[] a = absSums.get(w);
        if (a == null) {
            return null;
        }
        float[] out = new float[a.length];
        for (int c = 0; c < a.length; c++) {
            out[c] = (float) (a[c] / count(w));
        }
        return out;
    }

    /** {@link #meanAbs} by canonical tensor name. */
    public Map<String, float[]> meanAbsByName(ModelWeights weights) {
        Map<String, float[]> out = new LinkedHashMap<>();
        weights.matrices().forEach((name, m) -> {
            float[] a = meanAbs(m);
            if (a != null) {
                out.put(name, a);
            }
        });
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
        return collect(model, tokens, window, false, progress);
    }

    /** As {@link #collect(TransformerModel, int[], int, Progress)}, with second moments when asked. */
    public static ActivationStats collect(TransformerModel model, int[] tokens, int window, boolean secondMoments, Progress progress) {
        return collect(model, tokens, window, new ActivationStats(secondMoments), progress);
    }

    /** As above, with second moments of the matrices {@code momentsOf} accepts. */
    public static ActivationStats collect(TransformerModel model, int[] tokens, int window, java.util.function.Predicate<WeightMatrix> momentsOf,
                                         Progress progress) {
        return collect(model, tokens, window, new ActivationStats(momentsOf), progress);
    }

    private static ActivationStats collect(TransformerModel model, int[] tokens, int window, ActivationStats stats, Progress progress) {
        if (tokens.length == 0) {
            throw new EngineException("no calibration tokens");
        }
        if (window < 1 || window > model.config().contextLength()) {
            throw new EngineException("calibration window " + window + " is outside 1.." + model.config().contextLength());
        }
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

package io.nashswarm.reference;

/**
 * How far the engine's logits are from the reference's, "1e-4 relative": at each position t,
 * {@code max_v |engine[t][v] − ref[t][v]| / max(1, max_v |ref[t][v]|)}, and the worst position.
 * The max(1, ·) keeps tiny logit vectors from turning float32 rounding into a large ratio.
 */
record LogitsError(double worst, int position) {
    static final double TOLERANCE = 1e-4;

    static LogitsError of(float[][] engine, double[][] ref) {
        if (engine.length != ref.length) {
            throw new AssertionError("engine gave " + engine.length + " positions, reference " + ref.length);
        }
        double worst = -1;
        int at = -1;
        for (int t = 0; t < ref.length; t++) {
            if (engine[t] == null || engine[t].length != ref[t].length) {
                throw new AssertionError("engine gave no logits or the wrong count at position " + t);
            }
            double diff = 0, scale = 1;
            for (int v = 0; v < ref[t].length; v++) {
                diff = Math.max(diff, Math.abs(engine[t][v] - ref[t][v]));
                scale = Math.max(scale, Math.abs(ref[t][v]));
            }
            double e = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff / scale;
            if (e > worst) {
                worst = e;
                at = t;
            }
        }
        return new LogitsError(worst, at);
    }

    boolean within() {
        return worst <= TOLERANCE;
    }

    @Override
    public String toString() {
        return String.format("max relative logit error %.3g at position %d (tolerance %.0e)", worst, position, TOLERANCE);
    }
}

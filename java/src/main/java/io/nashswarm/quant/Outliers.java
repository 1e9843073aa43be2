package io.nashswarm.quant;

import java.util.Arrays;

/**
 * Picks the weights a mixed matrix keeps exactly (fp16 corrections, see {@link MixedQuantizer}): the
 * {@code fraction} of the matrix's weights with the largest importance, |w| or, when calibrated,
 * w²·E[x²] (a large weight on a quiet input channel matters less than a moderate one on a loud one).
 * Chosen over the whole matrix rather than per row, so small fractions of small matrices still pick
 * some (SqueezeLLM keeps ≈0.45% of weights).
 */
public final class Outliers {
    private Outliers() {}

    /** Sorted flat indices {@code r·cols + c}; {@code meanSquares} may be null (then |w|). */
    public static long[] select(RowSource src, double fraction, float[] meanSquares) {
        int rows = src.rows(), cols = src.cols();
        long n = Math.round(fraction * rows * (double) cols);
        if (n == 0) {
            return new long[0];
        }
        float[] score = meanSquares == null ? SwarmImportance.perWeight(src, 0) : CalibratedImportance.perWeight(src, meanSquares);
        int[] order = NashSplit.rankDescending(score);
        long[] out = new long[(int) n];
        for (int i = 0; i < n; i++) {
            out[i] = order[i];
        }
        Arrays.sort(out);
        return out;
    }

    /** {@code src} with the outlier positions read as 0: what the groups of a mixed matrix actually code. */
    public static RowSource zeroed(RowSource src, long[] outliers) {
        if (outliers.length == 0) {
            return src;
        }
        int cols = src.cols();
        return new RowSource() {
            @Override public int rows() { return src.rows(); }
            @Override public int cols() { return cols; }
            @Override public void row(int r, float[] out) {
                src.row(r, out);
                int k = Arrays.binarySearch(outliers, (long) r * cols);
                for (k = k < 0 ? -k - 1 : k; k < outliers.length && outliers[k] < (long) (r + 1) * cols; k++) {
                    out[(int) (outliers[k] - (long) r * cols)] = 0f;
                }
            }
        };
    }
}

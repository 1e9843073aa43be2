package io.nashswarm.quant;

import io.nashswarm.EngineException;

/**
 * Importance from activations, as llama.cpp's imatrix and AWQ use it: weight (r, c) matters in
 * proportion to {@code w² · E[x_c²]}, its expected contribution to the squared output error when it
 * is perturbed (E[x_c²] is the mean squared input of channel c over calibration text).
 */
public final class CalibratedImportance {
    private CalibratedImportance() {}

    /** Mean {@code w²·E[x²]} of every group, row-major. */
    public static float[] groupMeans(RowSource src, float[] meanSquares, int g) {
        int rows = src.rows(), cols = src.cols(), groups = cols / g;
        check(cols, meanSquares);
        float[] out = new float[rows * groups];
        float[] w = new float[cols];
        for (int r = 0; r < rows; r++) {
            src.row(r, w);
            for (int gi = 0; gi < groups; gi++) {
                double s = 0;
                for (int c = gi * g; c < (gi + 1) * g; c++) {
                    s += (double) w[c] * w[c] * meanSquares[c];
                }
                out[r * groups + gi] = (float) (s / g);
            }
        }
        return out;
    }

    /** {@code w²·E[x²]} of every weight, row-major. */
    public static float[] perWeight(RowSource src, float[] meanSquares) {
        int rows = src.rows(), cols = src.cols();
        check(cols, meanSquares);
        float[] out = new float[Math.multiplyExact(rows, cols)];
        float[] w = new float[cols];
        for (int r = 0; r < rows; r++) {
            src.row(r, w);
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = (float) ((double) w[c] * w[c] * meanSquares[c]);
            }
        }
        return out;
    }

    private static void check(int cols, float[] meanSquares) {
        if (meanSquares == null || meanSquares.length != cols) {
            throw new EngineException("calibration statistics have " + (meanSquares == null ? "no" : meanSquares.length)
                    + " entries for a matrix of " + cols + " columns");
        }
    }
}

package io.nashswarm.quant;

import io.nashswarm.EngineException;

/**
 * The Nash-Swarm seeds' importance: |w| smoothed over its neighbourhood (the "swarm"), so that a weight
 * in a region of large weights counts as important even if it is small itself.
 *
 * <p>The filter is a square box of radius R in the engine's orientation ([out][in]): weight (r, c) gets
 * the mean of |w| over rows r−R..r+R (neighbouring output neurons) and columns c−R..c+R (neighbouring
 * input channels), clipped at the matrix edges (the mean is over the cells that exist). R = 0 is plain
 * |w|. A box rather than a Gaussian: one parameter, separable, and at the radii that make sense here
 * (0–4) the shapes rank groups almost identically.
 *
 * <p>Rows are produced in order and streamed to a callback, so memory is (2R+1) rows, not the matrix.
 */
public final class SwarmImportance {
    private SwarmImportance() {}

    /** Receives the smoothed importance of row r (the array is reused between calls). */
    @FunctionalInterface
    public interface RowSink {
        void accept(int r, float[] importance);
    }

    public static void forEachRow(RowSource src, int radius, RowSink sink) {
        if (radius < 0) {
            throw new EngineException("--swarm-radius must be >= 0, got " + radius);
        }
        int rows = src.rows(), cols = src.cols(), window = 2 * radius + 1;
        double[][] horizontal = new double[window][cols]; // ring buffer of horizontally summed rows
        double[] vertical = new double[cols];             // sum of the ring's rows in the current window
        float[] w = new float[cols];
        double[] prefix = new double[cols + 1];
        float[] out = new float[cols];
        int loaded = 0; // rows [0, loaded) have been added to the ring at some point
        for (int r = 0; r < rows; r++) {
            int hiRow = Math.min(rows - 1, r + radius), loRow = Math.max(0, r - radius);
            while (loaded <= hiRow) {
                double[] h = horizontal[loaded % window];
                if (loaded - window >= 0) {
                    for (int c = 0; c < cols; c++) {
                        vertical[c] -= h[c]; // the row leaving the ring
                    }
                }
                src.row(loaded, w);
                for (int c = 0; c < cols; c++) {
                    prefix[c + 1] = prefix[c] + Math.abs(w[c]);
                }
                for (int c = 0; c < cols; c++) {
                    h[c] = prefix[Math.min(cols, c + radius + 1)] - prefix[Math.max(0, c - radius)];
                    vertical[c] += h[c];
                }
                loaded++;
            }
            // The ring now holds rows loaded-window..loaded-1; drop those below loRow from the sum.
            double[] sum = vertical;
            int first = Math.max(0, loaded - window);
            int nRows = hiRow - loRow + 1;
            if (first < loRow) {
                sum = vertical.clone();
                for (int k = first; k < loRow; k++) {
                    double[] h = horizontal[k % window];
                    for (int c = 0; c < cols; c++) {
                        sum[c] -= h[c];
                    }
                }
            }
            for (int c = 0; c < cols; c++) {
                int nCols = Math.min(cols - 1, c + radius) - Math.max(0, c - radius) + 1;
                out[c] = (float) (sum[c] / ((double) nRows * nCols));
            }
            sink.accept(r, out);
        }
    }

    /** Mean smoothed importance of every group, row-major ({@code rows·cols/g}). */
    public static float[] groupMeans(RowSource src, int radius, int g) {
        int groups = src.cols() / g;
        float[] out = new float[src.rows() * groups];
        forEachRow(src, radius, (r, imp) -> {
            for (int gi = 0; gi < groups; gi++) {
                double s = 0;
                for (int c = gi * g; c < (gi + 1) * g; c++) {
                    s += imp[c];
                }
                out[r * groups + gi] = (float) (s / g);
            }
        });
        return out;
    }

    /** Smoothed importance of every weight, row-major (per-weight allocation needs them all). */
    public static float[] perWeight(RowSource src, int radius) {
        int cols = src.cols();
        float[] out = new float[Math.multiplyExact(src.rows(), cols)];
        forEachRow(src, radius, (r, imp) -> System.arraycopy(imp, 0, out, r * cols, cols));
        return out;
    }
}

package io.nashswarm.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Float64 reference products from {@code dequantizeRow}, written separately from the kernels. */
final class PackedReference {
    private PackedReference() {}

    /** Relative tolerance against Σ|ŵ·x|: float32 accumulation over a few hundred terms plus the zero-point term. */
    static final double REL = 3e-5;

    static float[][] dequantize(WeightMatrix m) {
        float[][] w = new float[m.rows()][m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, w[r], 0);
        }
        return w;
    }

    /** Checks {@code y[b·rows + r]} against Σ_c ŵ[r][c]·x[b·cols + c] in float64 for n vectors. */
    static void assertProduct(WeightMatrix m, float[] x, float[] y, int n, String what) {
        float[][] w = dequantize(m);
        int rows = m.rows(), cols = m.cols();
        for (int b = 0; b < n; b++) {
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double t = (double) w[r][c] * x[b * cols + c];
                    ref += t;
                    mag += Math.abs(t);
                }
                double got = y[b * rows + r];
                double tol = REL * mag + 1e-30;
                assertTrue(Math.abs(got - ref) <= tol,
                        what + ": vector " + b + " row " + r + ": got " + got + ", reference " + ref + " (tolerance " + tol + ")");
            }
        }
    }
}

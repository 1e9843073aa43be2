package io.nashswarm.quant;

import io.nashswarm.EngineException;

/**
 * The second moment of one matrix's calibration inputs, {@code H = 2·XᵀX / n} (GPTQ's layer Hessian of
 * the squared output error ‖WX − ŴX‖² per token), in float64, row-major and symmetric.
 *
 * @param cols  input width
 * @param count input vectors it was estimated from
 * @param h     {@code cols × cols}, both triangles filled
 */
public record Hessian(int cols, long count, double[] h) {
    public Hessian {
        if (h.length != (long) cols * cols) {
            throw new IllegalArgumentException("Hessian of " + cols + " columns needs " + (long) cols * cols + " entries, got " + h.length);
        }
    }

    /** The identity (every input channel independent and of unit power): GPTQ then rounds to nearest. */
    public static Hessian identity(int cols) {
        double[] h = new double[cols * cols];
        for (int i = 0; i < cols; i++) {
            h[i * cols + i] = 1;
        }
        return new Hessian(cols, cols, h);
    }

    /** Entry (i, j). */
    public double at(int i, int j) {
        return h[i * cols + j];
    }

    /** {@code E[x_c²]} per channel (half the diagonal): the statistic of the E[x²]-weighted recipes. */
    public float[] meanSquares() {
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = (float) (h[c * cols + c] / 2);
        }
        return out;
    }

    /** The same statistics for rows padded with {@code padded − cols} always-zero inputs (see PaddedMatrix). */
    public Hessian padded(int padded) {
        if (padded == cols) {
            return this;
        }
        double[] p = new double[padded * padded];
        for (int i = 0; i < cols; i++) {
            System.arraycopy(h, i * cols, p, i * padded, cols);
        }
        return new Hessian(padded, count, p);
    }

    /**
     * GPTQ needs H to be estimated from at least as many inputs as it has columns: from fewer, XᵀX is
     * singular (rank ≤ n) and the dampening alone would decide the compensation.
     */
    public void checkRank(String name) {
        if (count < cols) {
            throw new EngineException("calibration gave " + count + " input vectors for " + name + ", whose Hessian has " + cols
                    + " columns: it is rank-deficient; give at least " + cols + " calibration tokens (--calib-tokens, or a longer text)");
        }
    }

    /** {@code eᵀ·H·e} over columns {@code [off, off + n)}: the output error a weight error {@code e} causes there. */
    public double quadratic(double[] e, int eOff, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            if (e[eOff + i] == 0) {
                continue;
            }
            double row = 0;
            int base = (off + i) * cols + off;
            for (int j = 0; j < n; j++) {
                row += h[base + j] * e[eOff + j];
            }
            s += e[eOff + i] * row;
        }
        return s;
    }
}

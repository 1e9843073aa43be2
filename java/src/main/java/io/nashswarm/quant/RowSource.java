package io.nashswarm.quant;

import io.nashswarm.tensor.WeightMatrix;

/** Float rows to quantize: a matrix's dequantized rows or plain arrays. Row r is read into {@code out[0..cols)}. */
public interface RowSource {
    int rows();

    int cols();

    void row(int r, float[] out);

    /** Rows of any weight matrix via {@link WeightMatrix#dequantizeRow}; one row at a time, never the whole matrix. */
    static RowSource of(WeightMatrix w) {
        return new RowSource() {
            @Override public int rows() { return w.rows(); }
            @Override public int cols() { return w.cols(); }
            @Override public void row(int r, float[] out) { w.dequantizeRow(r, out, 0); }
        };
    }

    /** The rows of {@code src} followed by zeros up to {@code cols} (rows padded for packing; see PaddedMatrix). */
    static RowSource padded(RowSource src, int cols) {
        if (cols == src.cols()) {
            return src;
        }
        return new RowSource() {
            @Override public int rows() { return src.rows(); }
            @Override public int cols() { return cols; }
            @Override public void row(int r, float[] out) {
                src.row(r, out);
                java.util.Arrays.fill(out, src.cols(), cols, 0f);
            }
        };
    }

    /** Rows of a rectangular array (not copied). */
    static RowSource of(float[][] w) {
        if (w.length == 0 || w[0].length == 0) {
            throw new IllegalArgumentException("empty matrix");
        }
        for (float[] row : w) {
            if (row.length != w[0].length) {
                throw new IllegalArgumentException("ragged matrix: rows of " + w[0].length + " and " + row.length + " columns");
            }
        }
        return new RowSource() {
            @Override public int rows() { return w.length; }
            @Override public int cols() { return w[0].length; }
            @Override public void row(int r, float[] out) { System.arraycopy(w[r], 0, out, 0, w[r].length); }
        };
    }
}

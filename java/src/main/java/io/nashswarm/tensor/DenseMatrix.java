package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;

/** Shared shape bookkeeping of the element-per-value (unquantized) matrices. */
abstract sealed class DenseMatrix implements WeightMatrix permits F32Matrix, F16Matrix, BF16Matrix {
    final MemorySegment data;
    final int rows;
    final int cols;
    final Layout layout;

    DenseMatrix(MemorySegment data, int rows, int cols, Layout layout) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.layout = layout;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long storageBytes() { return data.byteSize(); }
    public Layout layout() { return layout; }
    public MemorySegment data() { return data; }

    /** Element W[r][c] as float; the scalar path every vector kernel must agree with. */
    abstract float get(long index);

    final long index(int r, int c) {
        return layout == Layout.OUT_IN ? (long) r * cols + c : (long) c * rows + r;
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            float acc = 0f;
            for (int c = 0; c < cols; c++) {
                acc += get(index(r, c)) * x[c];
            }
            y[r] = acc;
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        for (int c = 0; c < cols; c++) {
            out[off + c] = get(index(r, c));
        }
    }
}

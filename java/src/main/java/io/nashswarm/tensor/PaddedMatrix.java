package io.nashswarm.tensor;

/**
 * A packed matrix whose rows do not fill whole 32-weight units (the tiny llama2.c models' FFN down
 * projection has rows of 172): it is stored with each row padded by zero weights to {@link #storedCols},
 * and products see the input padded by zeros, so the padding contributes exactly nothing. The padding's
 * codes and scales are stored bytes and count in {@link #storageBytes()} and so in the bits per (real)
 * weight, which is what lets a 4-bit row of 172 cost 4.25·192/172 bits and not fall back to 16.
 */
public final class PaddedMatrix implements WeightMatrix {
    private final PackedMatrix stored;
    private final int cols;

    private PaddedMatrix(PackedMatrix stored, int cols) {
        this.stored = stored;
        this.cols = cols;
    }

    /** Rows of {@code cols} weights are stored as rows of this many (the next multiple of {@link GroupSpec#UNIT}). */
    public static int storedCols(int cols) {
        return (cols + GroupSpec.UNIT - 1) / GroupSpec.UNIT * GroupSpec.UNIT;
    }

    /** Whether rows of {@code cols} weights need padding to be packed. */
    public static boolean needed(int cols) {
        return cols % GroupSpec.UNIT != 0;
    }

    /** Views {@code stored} (rows of {@code storedCols(cols)}) as a matrix of {@code cols} columns. */
    public static PaddedMatrix of(PackedMatrix stored, int cols) {
        if (!needed(cols) || stored.cols() != storedCols(cols)) {
            throw new IllegalArgumentException("rows of " + cols + " are padded to " + storedCols(cols) + ", not stored as "
                    + stored.cols() + (needed(cols) ? "" : " (they need no padding)"));
        }
        return new PaddedMatrix(stored, cols);
    }

    /** The packed matrix as stored, padding included. */
    public PackedMatrix stored() {
        return stored;
    }

    @Override public int rows() { return stored.rows(); }
    @Override public int cols() { return cols; }
    @Override public QuantType type() { return stored.type(); }
    @Override public long storageBytes() { return stored.storageBytes(); }

    @Override
    public void prepare() {
        stored.prepare();
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, 1, rowStart, rowEnd);
        stored.matvec(pad(x, 1), y, rowStart, rowEnd);
    }

    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        stored.matmul(pad(x, n), y, n, rowStart, rowEnd);
    }

    /** The {@code n} input vectors with zeros after each (a small copy: one row's worth per vector). */
    private float[] pad(float[] x, int n) {
        int sc = stored.cols();
        float[] xp = new float[n * sc];
        for (int b = 0; b < n; b++) {
            System.arraycopy(x, b * cols, xp, b * sc, cols);
        }
        return xp;
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        float[] row = new float[stored.cols()];
        stored.dequantizeRow(r, row, 0);
        System.arraycopy(row, 0, out, off, cols);
    }

    @Override
    public String toString() {
        return stored + ", rows of " + cols + " padded to " + stored.cols();
    }
}

package io.nashswarm.tensor;

/**
 * A weight matrix W with {@code rows} outputs and {@code cols} inputs, used as {@code y = W·x}.
 *
 * <p>Implementations keep the weights in their stored form (memory-mapped, possibly packed) and
 * compute on it directly; none may expand a whole matrix to floats. The row range arguments let a
 * caller split the outputs across threads (see {@link io.nashswarm.kernel.Parallel}); an
 * implementation only computes and writes {@code y[r]} for {@code rowStart <= r < rowEnd}.
 */
public interface WeightMatrix {
    int rows();

    int cols();

    QuantType type();

    /** Bytes this matrix occupies in storage, every scale, zero point and map included. */
    long storageBytes();

    /** {@code y[r] = sum_c W[r][c]·x[c]} for r in [rowStart, rowEnd). */
    void matvec(float[] x, float[] y, int rowStart, int rowEnd);

    /**
     * Batched product for prefill: {@code n} input vectors stored row-major in {@code x}
     * ({@code x[b*cols + c]}), outputs in {@code y[b*rows + r]}. Implementations should read each
     * weight once per batch rather than once per vector; this default does not.
     */
    default void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        float[] xb = new float[cols()];
        float[] yb = new float[rows()];
        for (int b = 0; b < n; b++) {
            System.arraycopy(x, b * cols(), xb, 0, cols());
            matvec(xb, yb, rowStart, rowEnd);
            System.arraycopy(yb, rowStart, y, b * rows() + rowStart, rowEnd - rowStart);
        }
    }

    /**
     * Makes now the repacked copy that this matrix's products read (bit planes, byte rows), which is otherwise made at
     * its first product by one thread while the others wait; matrices without one do nothing.
     */
    default void prepare() {}

    /**
     * The rows its kernel computes together (a multiple of {@link io.nashswarm.kernel.Parallel#ROW_ALIGN}): products
     * split between threads cut their rows at multiples of it, so that no block is computed by both threads.
     */
    default int rowBlock() {
        return io.nashswarm.kernel.Parallel.ROW_ALIGN;
    }

    /** Writes the dequantized row {@code r} (length {@code cols}) to {@code out[off..]}. Used for embeddings and tests. */
    void dequantizeRow(int r, float[] out, int off);

    /** Effective bits per weight, metadata included. */
    default double bitsPerWeight() {
        return 8.0 * storageBytes() / ((double) rows() * cols());
    }
}

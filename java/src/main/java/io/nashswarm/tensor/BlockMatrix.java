package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Row-major matrices of ggml-style blocks: each row is {@code cols / blockSize} blocks, each block an
 * fp16 scale followed by its quants. The subclasses supply the fused dequantize-and-dot kernels for
 * one row; this class walks rows and input vectors (four per kernel call, each row fetched from
 * memory once per batch).
 *
 * <p>Q8_0 and Q4_0 ({@link #makeByteRows}) run on the 16-bit product kernels ({@link ByteRowKernels}) on every
 * machine, on a byte-row copy made at the first product (the mapped blocks are then released), as llama.cpp repacks
 * them for its CPU kernels.
 */
abstract class BlockMatrix implements SegmentMatrix {
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int BLOCK = 32;

    final MemorySegment data;
    final int rows, cols;
    /** Blocks per row and bytes per row. */
    final int blocks;
    final long rowBytes;
    /** The copy for the 16-bit product kernels, made at the first product. */
    private final FirstUseCopy<ByteRows> bytes;

    BlockMatrix(MemorySegment data, int rows, int cols, int blockBytes) {
        if (rows < 0 || cols < 0 || cols % BLOCK != 0) {
            throw new IllegalArgumentException(type().label() + " rows must be whole blocks of " + BLOCK + ": " + rows + "x" + cols);
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / BLOCK;
        this.rowBytes = (long) blocks * blockBytes;
        this.bytes = new FirstUseCopy<>(this::makeByteRows, data);
        if (data.byteSize() < rows * rowBytes) {
            throw new IllegalArgumentException(type().label() + " " + rows + "x" + cols + " needs " + rows * rowBytes + " bytes, got " + data.byteSize());
        }
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long storageBytes() { return data.byteSize(); }
    public MemorySegment data() { return data; }
    @Override public Layout layout() { return Layout.OUT_IN; }

    /** The scale of the block at byte {@code offset}. */
    final float scale(long offset) {
        return Float.float16ToFloat(data.get(F16, offset));
    }

    /** Makes the byte-row copy for the 16-bit product kernels ({@link ByteRowKernels}), or null for types without one (Q8_0 and Q4_0 have one). */
    ByteRows makeByteRows() {
        return null;
    }

    /** Dot product of the row starting at byte {@code base} with x[x0 .. x0 + cols): the float kernel of types without a byte-row path. */
    float dot(long base, float[] x, int x0) {
        throw new UnsupportedOperationException(type().label() + " has no float kernel");
    }

    /** y[y0 + k·ys] = dot of the row at byte {@code base} with x[x0 + k·xs ..], for k = 0..3. */
    void dot4(long base, float[] x, int x0, int xs, float[] y, int y0, int ys) {
        throw new UnsupportedOperationException(type().label() + " has no float kernel");
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        matmul(x, y, 1, rowStart, rowEnd);
    }

    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        ByteRows copy = bytes.get();
        if (copy != null) {
            ByteRowKernels.products(copy, x, n, y, rowStart, rowEnd);
            return;
        }
        for (int r = rowStart; r < rowEnd; r++) {
            long base = r * rowBytes;
            int b = 0;
            for (; b + DenseMatrix.TILE <= n; b += DenseMatrix.TILE) {
                dot4(base, x, b * cols, cols, y, b * rows + r, rows);
            }
            for (; b < n; b++) {
                y[b * rows + r] = dot(base, x, b * cols);
            }
        }
    }
}

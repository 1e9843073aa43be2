package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Row-major matrices of ggml-style blocks of 32: each row is {@code cols / 32} blocks, each block an fp16 scale
 * followed by its quants. Q8_0 and Q4_0 run on the 16-bit product kernels ({@link ByteRowKernels}) on every machine, on
 * the byte-row copy each subclass makes ({@link #makeByteRows}) at the first product (the mapped blocks are then
 * released), as llama.cpp repacks them for its CPU kernels.
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

    /** Makes the byte-row copy for the 16-bit product kernels ({@link ByteRowKernels}). */
    abstract ByteRows makeByteRows();

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        matmul(x, y, 1, rowStart, rowEnd);
    }

    @Override
    public void prepare() {
        bytes.get();
    }

    /** Row r from the copy once it is made ({@link ByteRows#dequantizeRow}: a tied embedding's lookups leave the file's pages alone); false before. */
    final boolean rowFromCopy(int r, float[] out, int off) {
        ByteRows b = bytes.made();
        return b != null && b.dequantizeRow(r, out, off);
    }

    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        ByteRowKernels.products(bytes.get(), x, n, y, rowStart, rowEnd);
    }
}

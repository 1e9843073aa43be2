package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Row-major matrices of ggml-style blocks: each row is {@code cols / blockSize} blocks, each block an
 * fp16 scale followed by its quants. The subclasses supply the products.
 */
abstract class BlockMatrix implements WeightMatrix {
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int BLOCK = 32;

    final MemorySegment data;
    final int rows, cols;
    /** Blocks per row and bytes per row. */
    final int blocks;
    final long rowBytes;

    BlockMatrix(MemorySegment data, int rows, int cols, int blockBytes) {
        if (rows < 0 || cols < 0 || cols % BLOCK != 0) {
            throw new IllegalArgumentException(type().label() + " rows must be whole blocks of " + BLOCK + ": " + rows + "x" + cols);
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / BLOCK;
        this.rowBytes = (long) blocks * blockBytes;
        if (data.byteSize() < rows * rowBytes) {
            throw new IllegalArgumentException(type().label() + " " + rows + "x" + cols + " needs " + rows * rowBytes + " bytes, got " + data.byteSize());
        }
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long storageBytes() { return data.byteSize(); }
    public MemorySegment data() { return data; }

    /** The scale of the block at byte {@code offset}. */
    final float scale(long offset) {
        return Float.float16ToFloat(data.get(F16, offset));
    }
}

package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * GGML Q8_0: blocks of 32 weights, each an fp16 scale {@code d} followed by 32 int8 {@code q};
 * {@code w = d·q}. Rows are whole blocks (cols % 32 == 0).
 */
public final class Q8_0Matrix implements WeightMatrix {
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int BLOCK = 32, BYTES = 34;

    private final MemorySegment data;
    private final int rows, cols;

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public QuantType type() { return QuantType.Q8_0; }
    @Override public long storageBytes() { return data.byteSize(); }
    public MemorySegment data() { return data; }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        int blocks = cols / BLOCK;
        for (int r = rowStart; r < rowEnd; r++) {
            long base = (long) r * blocks * BYTES;
            float acc = 0f;
            for (int b = 0; b < blocks; b++) {
                long off = base + (long) b * BYTES;
                float d = Float.float16ToFloat(data.get(F16, off));
                float s = 0f;
                for (int i = 0; i < BLOCK; i++) {
                    s += data.get(ValueLayout.JAVA_BYTE, off + 2 + i) * x[b * BLOCK + i];
                }
                acc += d * s;
            }
            y[r] = acc;
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        int blocks = cols / BLOCK;
        long base = (long) r * blocks * BYTES;
        for (int b = 0; b < blocks; b++) {
            long o = base + (long) b * BYTES;
            float d = Float.float16ToFloat(data.get(F16, o));
            for (int i = 0; i < BLOCK; i++) {
                out[off + b * BLOCK + i] = d * data.get(ValueLayout.JAVA_BYTE, o + 2 + i);
            }
        }
    }
}

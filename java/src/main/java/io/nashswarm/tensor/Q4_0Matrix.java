package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML Q4_0: blocks of 32 weights, an fp16 scale {@code d} then 16 bytes; byte {@code j} holds weight
 * {@code j} in its low nibble and weight {@code j+16} in its high nibble; {@code w = d·(q - 8)}.
 */
public final class Q4_0Matrix implements WeightMatrix {
    static final int BLOCK = 32, BYTES = 18;

    private final MemorySegment data;
    private final int rows, cols;

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public QuantType type() { return QuantType.Q4_0; }
    @Override public long storageBytes() { return data.byteSize(); }
    public MemorySegment data() { return data; }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        int blocks = cols / BLOCK;
        for (int r = rowStart; r < rowEnd; r++) {
            long base = (long) r * blocks * BYTES;
            float acc = 0f;
            for (int b = 0; b < blocks; b++) {
                long o = base + (long) b * BYTES;
                float d = Float.float16ToFloat(data.get(Q8_0Matrix.F16, o));
                float s = 0f;
                for (int j = 0; j < 16; j++) {
                    int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                    s += ((q & 0x0F) - 8) * x[b * BLOCK + j] + ((q >>> 4) - 8) * x[b * BLOCK + j + 16];
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
            float d = Float.float16ToFloat(data.get(Q8_0Matrix.F16, o));
            for (int j = 0; j < 16; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                out[off + b * BLOCK + j] = d * ((q & 0x0F) - 8);
                out[off + b * BLOCK + j + 16] = d * ((q >>> 4) - 8);
            }
        }
    }
}

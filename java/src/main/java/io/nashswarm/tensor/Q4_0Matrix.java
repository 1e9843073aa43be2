package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * GGML Q4_0: blocks of 32 weights, an fp16 scale {@code d} then 16 bytes; byte {@code j} holds weight
 * {@code j} in its low nibble and weight {@code j+16} in its high nibble; {@code w = d·(q - 8)}.
 *
 * <p>Products run on the 16-bit product kernels ({@link ByteRowKernels}) on 8-bit inputs, as llama.cpp's on q8_0: at
 * 8192x2048 on two threads 1.37x the 12-bit table lookup they replaced (bench/results/kernels-dram-2026-12-03.md).
 */
public final class Q4_0Matrix extends BlockMatrix {
    static final int BYTES = 18;
    private static final int HALF = BLOCK / 2;

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BYTES);
    }

    @Override public QuantType type() { return QuantType.Q4_0; }

    /**
     * The nibble-group copy for the 16-bit product kernels, on 8-bit inputs as llama.cpp's q8_0 (made at the first
     * product): the codes two to a byte with a block of rows side by side and the fp16 scales, exact (4.5 bits/weight).
     */
    @Override
    ByteRows makeByteRows() {
        // each row's bytes copied once and split eight at a time (read byte by byte from the segment, a 1B model's
        // copies took 10-20% longer)
        byte[] raw = new byte[Math.toIntExact(rowBytes)];
        return ByteRows.ofNibbleGroups(rows, cols, BLOCK, false, (r, u, scales, zeros) -> {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, r * rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < blocks; blk++, o += BYTES) {
                scales[blk] = (short) GgmlBlockMatrix.SHORTS.get(raw, o);
                for (int j = 0; j < HALF; j += 8) { // byte j: weights j (low nibble) and j + 16 (high)
                    long v = (long) GgmlBlockMatrix.LONGS.get(raw, o + 2 + j);
                    GgmlBlockMatrix.LONGS.set(u, blk * BLOCK + j, v & 0x0F0F0F0F0F0F0F0FL);
                    GgmlBlockMatrix.LONGS.set(u, blk * BLOCK + j + HALF, v >>> 4 & 0x0F0F0F0F0F0F0F0FL);
                }
            }
        });
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, out.length);
        if (rowFromCopy(r, out, off)) {
            return;
        }
        long base = r * rowBytes;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            float d = scale(o);
            for (int j = 0; j < HALF; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                out[off + blk * BLOCK + j] = d * ((q & 0x0F) - 8);
                out[off + blk * BLOCK + j + HALF] = d * ((q >>> 4) - 8);
            }
        }
    }
}

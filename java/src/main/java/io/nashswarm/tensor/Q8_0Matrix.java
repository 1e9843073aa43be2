package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * GGML Q8_0: blocks of 32 weights, each an fp16 scale {@code d} followed by 32 int8 {@code q};
 * {@code w = d·q}. Rows are whole blocks (cols % 32 == 0).
 *
 * <p>Products run on the 16-bit product kernels ({@link ByteRowKernels}) on a copy made at the first product (the
 * file's bytes, rows side by side): at 4096x11008 on one thread 2.8 ms against the float kernel's 4.5 that it
 * replaced (the table lookup, 8 planes, had taken 5.55; bench/results/byte-rows-2026-12-03.md).
 */
public final class Q8_0Matrix extends BlockMatrix {
    static final int BYTES = 34;

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BYTES);
    }

    @Override public QuantType type() { return QuantType.Q8_0; }

    /** The file's bytes, rows side by side: signed codes and the blocks' fp16 scales. */
    @Override
    ByteRows makeByteRows() {
        byte[] raw = new byte[Math.toIntExact(rowBytes)]; // each row's bytes copied once (a segment copy per block of 32 cost more than its bytes)
        return ByteRows.ofGroups(rows, cols, BLOCK, false, (r, codes, scales, zeros) -> {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, r * rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < blocks; blk++, o += BYTES) {
                scales[blk] = (short) GgmlBlockMatrix.SHORTS.get(raw, o);
                System.arraycopy(raw, o + 2, codes, blk * BLOCK, BLOCK);
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
            for (int i = 0; i < BLOCK; i++) {
                out[off + blk * BLOCK + i] = d * data.get(ValueLayout.JAVA_BYTE, o + 2 + i);
            }
        }
    }
}

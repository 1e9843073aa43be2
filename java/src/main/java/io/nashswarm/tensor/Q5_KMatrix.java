package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q5_K: super-blocks of 256 weights in 176 bytes: fp16 {@code d} and {@code dmin}, 12 bytes of
 * 6-bit scales and minimums (as Q4_K), 32 bytes of fifth bits, 128 bytes of nibbles. Weights
 * {@code 64j + l} and {@code 64j + 32 + l} are byte {@code 32j + l}'s low and high nibble plus 16 times
 * bit {@code 2j} and {@code 2j + 1} of high-bit byte {@code l}; {@code w = d·scale·q − dmin·min}.
 */
final class Q5_KMatrix extends GgmlBlockMatrix {
    Q5_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q5_K, data, rows, cols, 32);
    }

    /**
     * The copy for the 16-bit product kernels (made at the first product): the codes three to a 16-bit field, the 6-bit
     * scales and minimums as bytes, {@code d} and {@code dmin} as floats, all exact (5.75 bits/weight resident against the
     * file's 5.5; see {@link ByteRows#FIVE_SUPER_BYTES}).
     */
    @Override
    ByteRows makeByteRows() {
        return ByteRows.ofFiveBits(rows, cols, scaleMinRows(this));
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o), dmin = half(o + 2);
        for (int j = 0; j < 8; j++) {
            Q4_KMatrix.scaleMin(this, o + 4, j, d, dmin, scale, min);
        }
        for (int h = 0; h < 2; h++) {
            ByteVector qh = load16(o + 16 + 16 * h);
            for (int j = 0; j < 4; j++) {
                ByteVector q = load16(o + 48 + 32 * j + 16 * h);
                bits(q, 0, 0x0F).or(bits(qh, 2 * j, 1).lanewise(VectorOperators.LSHL, 4)).intoArray(codes, 64 * j + 16 * h);
                bits(q, 4, 0x0F).or(bits(qh, 2 * j + 1, 1).lanewise(VectorOperators.LSHL, 4)).intoArray(codes, 64 * j + 32 + 16 * h);
            }
        }
    }

    /**
     * The rows of a matrix whose super-blocks start with fp16 {@code d}, {@code dmin} and the 12 bytes of 6-bit scales
     * and minimums ({@link Q4_KMatrix#scaleMin}): codes as {@link #decodeBlock} gives them, the scales and minimums
     * as integers, {@code d} and {@code dmin} as floats.
     */
    private static ByteRows.NibbleRows scaleMinRows(GgmlBlockMatrix m) {
        byte[] codes = new byte[256];
        float[] sc = new float[8], mn = new float[8];
        return (r, u, sub, mins, d, dmin) -> {
            for (int blk = 0; blk < m.blocks; blk++) {
                long o = r * m.rowBytes + (long) m.type().bytesPerBlock() * blk;
                m.decodeBlock(o, codes, sc, mn);
                System.arraycopy(codes, 0, u, 256 * blk, 256);
                for (int j = 0; j < 8; j++) {
                    Q4_KMatrix.scaleMin(m, o + 4, j, 1f, 1f, sc, mn);
                    sub[8 * blk + j] = (byte) sc[j];
                    mins[8 * blk + j] = (byte) mn[j];
                }
                d[blk] = m.half(o);
                dmin[blk] = m.half(o + 2);
            }
        };
    }
}

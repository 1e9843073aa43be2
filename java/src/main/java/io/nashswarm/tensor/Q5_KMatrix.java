package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
     * Q5_K's rows for {@link ByteRows#ofFiveBits}: codes 0..31 (low nibble from {@code qs}, fifth bit from {@code qh}), the
     * 6-bit scales and minimums as integers, {@code d} and {@code dmin} as floats ({@link Q4_KMatrix#superBlockScales}).
     * Each row's bytes copied once and read eight codes at a time, as Q4_K's copy (through decodeBlock's vectors per
     * block, a 1B Q5_K_M's copies took about 3 s).
     */
    private static ByteRows.NibbleRows scaleMinRows(Q5_KMatrix m) {
        byte[] raw = new byte[Math.toIntExact(m.rowBytes)];
        return (r, u, sub, mins, d, dmin) -> {
            MemorySegment.copy(m.data, ValueLayout.JAVA_BYTE, r * m.rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < m.blocks; blk++, o += 176) {
                Q4_KMatrix.superBlockScales(raw, o, blk, sub, mins, d, dmin);
                for (int l = 0; l < 32; l += 8) { // qh byte l: bit 2j the fifth bit of weight 64j + l, bit 2j + 1 of 64j + 32 + l
                    long h = (long) LONGS.get(raw, o + 16 + l);
                    for (int j = 0; j < 4; j++) { // qs byte 32j + l: weights 64j + l (low nibble) and 64j + 32 + l (high)
                        long v = (long) LONGS.get(raw, o + 48 + 32 * j + l);
                        LONGS.set(u, 256 * blk + 64 * j + l, v & NIBBLES | (h >>> 2 * j & ONES) << 4);
                        LONGS.set(u, 256 * blk + 64 * j + 32 + l, v >>> 4 & NIBBLES | (h >>> 2 * j + 1 & ONES) << 4);
                    }
                }
            }
        };
    }

    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL, ONES = 0x0101010101010101L;
}

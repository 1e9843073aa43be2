package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML Q4_K: super-blocks of 256 weights in 144 bytes: fp16 {@code d} and {@code dmin}, 12 bytes
 * holding eight 6-bit scales and eight 6-bit minimums (see {@link #scaleMin}), 128 bytes of nibbles.
 * Weights {@code 64j + l} and {@code 64j + 32 + l} (l < 32) are the low and high nibble of byte
 * {@code 32j + l}; {@code w = d·scale·q − dmin·min} per sub-block of 32.
 *
 * <p>Products run on the 16-bit product kernels ({@link ByteRowKernels}) on every machine: at 4096x11008 on one thread
 * 2.4–2.8 ms against the table lookup's 3.9–4.4 and the integer kernel on 8-bit inputs' 8.9 that it replaced
 * (bench/results/byte-rows-2026-12-03.md).
 */
final class Q4_KMatrix extends GgmlBlockMatrix {
    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q4_K, data, rows, cols, 32);
    }

    /**
     * The nibble-row copy for the 16-bit product kernels (made at the first product): the codes two to a byte with a block of rows side by side, the 6-bit scales and minimums as bytes, {@code d} and
     * {@code dmin} as floats, all exact (4.75 bits/weight resident).
     */
    @Override
    ByteRows makeByteRows() {
        byte[] raw = new byte[Math.toIntExact(rowBytes)];
        // each row's bytes copied once and read eight codes at a time: through decodeBlock's vectors and single-byte
        // segment reads this copy took most of a Q4_K_M model's time to first token
        return ByteRows.ofNibbles(rows, cols, (r, u, sub, mins, d, dmin) -> {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, r * rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < blocks; blk++, o += 144) {
                superBlockScales(raw, o, blk, sub, mins, d, dmin);
                for (int j = 0; j < 4; j++) {
                    for (int l = 0; l < 32; l += 8) { // byte 32j + l: weights 64j + l (low nibble) and 64j + 32 + l (high)
                        long v = (long) LONGS.get(raw, o + 16 + 32 * j + l);
                        LONGS.set(u, 256 * blk + 64 * j + l, v & 0x0F0F0F0F0F0F0F0FL);
                        LONGS.set(u, 256 * blk + 64 * j + 32 + l, v >>> 4 & 0x0F0F0F0F0F0F0F0FL);
                    }
                }
            }
        });
    }

    /**
     * A row's super-block {@code blk} at {@code raw[o..]} (Q4_K's, and Q5_K's, which starts alike): its fp16 {@code d} and
     * {@code dmin} as floats, its eight 6-bit scales and minimums ({@link #scaleBits}, {@link #minBits}) as integers.
     */
    static void superBlockScales(byte[] raw, int o, int blk, byte[] sub, byte[] mins, float[] d, float[] dmin) {
        d[blk] = Float.float16ToFloat((short) SHORTS.get(raw, o));
        dmin[blk] = Float.float16ToFloat((short) SHORTS.get(raw, o + 2));
        for (int j = 0, s = o + 4; j < 8; j++) {
            int b = raw[s + j] & 0xFF, b4 = raw[s + j + 4] & 0xFF;
            sub[8 * blk + j] = (byte) scaleBits(j, b, b4, j < 4 ? 0 : raw[s + j - 4] & 0xFF);
            mins[8 * blk + j] = (byte) minBits(j, b, b4);
        }
    }

    /**
     * Sub-block {@code j}'s 6-bit scale and minimum from the 12 bytes at {@code s} (as ggml's
     * get_scale_min_k4): for j < 4 the low 6 bits of bytes j and j+4; otherwise a nibble of byte j+4
     * completed by the top 2 bits of bytes j−4 and j. Sets {@code scale[j]}, {@code min[j]}.
     */
    static void scaleMin(GgmlBlockMatrix m, long s, int j, float d, float dmin, float[] scale, float[] min) {
        int b = m.u8(s + j), b4 = m.u8(s + j + 4);
        scale[j] = d * scaleBits(j, b, b4, j < 4 ? 0 : m.u8(s + j - 4));
        min[j] = dmin * minBits(j, b, b4);
    }

    /** Sub-block j's 6-bit scale ({@link #scaleMin}) from the unsigned scale bytes j, j + 4 and (for j ≥ 4) j − 4. */
    static int scaleBits(int j, int b, int b4, int bm4) {
        return j < 4 ? b & 63 : b4 & 0x0F | (bm4 >>> 6) << 4;
    }

    /** Sub-block j's 6-bit minimum ({@link #scaleMin}) from the unsigned scale bytes j and j + 4. */
    static int minBits(int j, int b, int b4) {
        return j < 4 ? b4 & 63 : b4 >>> 4 | (b >>> 6) << 4;
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o), dmin = half(o + 2);
        for (int j = 0; j < 8; j++) {
            scaleMin(this, o + 4, j, d, dmin, scale, min);
        }
        for (int j = 0; j < 4; j++) {
            for (int h = 0; h < 2; h++) {
                ByteVector q = load16(o + 16 + 32 * j + 16 * h);
                bits(q, 0, 0x0F).intoArray(codes, 64 * j + 16 * h);
                bits(q, 4, 0x0F).intoArray(codes, 64 * j + 32 + 16 * h);
            }
        }
    }
}

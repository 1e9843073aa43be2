package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML Q6_K: super-blocks of 256 weights in 210 bytes: 128 bytes of low nibbles {@code ql}, 64 bytes
 * of 2-bit high parts {@code qh}, sixteen int8 scales, fp16 {@code d}. In each half {@code n} (128
 * weights), weights {@code l, l+32, l+64, l+96} (l < 32) are the low nibble of ql byte {@code 64n + l},
 * the low nibble of {@code 64n + 32 + l}, and the high nibbles of the same two bytes, each with bits
 * 0-1, 2-3, 4-5, 6-7 of qh byte {@code 32n + l} on top; {@code w = d·scale·(q − 32)} per sub-block of 16.
 */
final class Q6_KMatrix extends GgmlBlockMatrix {
    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q6_K, data, rows, cols, 16);
    }

    private static ByteVector code(ByteVector nibble, ByteVector qh, int shift) {
        return nibble.or(bits(qh, shift, 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
    }

    /**
     * The copy for the 16-bit product kernels (made at the first product): the codes' six bits packed in 16-bit fields
     * ({@link ByteRows#SIX_SUB_BYTES}), the int8 sub-scales and {@code d} as a float, exactly as stored (6.625
     * bits/weight resident against the file's 6.56). As signed bytes (8.6 bits/weight) the kernel was no faster and llama-1b's Q4_K_M decoded 5–13% slower
     * (it streams its Q6_K head and tensors from memory); the 6-plane lookup copy (6.0 bits) was compute-bound at
     * 5.6 Gweights/s on one thread (bench/results/byte-rows-2026-12-03.md).
     */
    @Override
    ByteRows makeByteRows() {
        byte[] raw = new byte[Math.toIntExact(rowBytes)];
        // each row's bytes copied once and read eight codes at a time (as Q4_K's copy), as stored: u = code + 32
        return ByteRows.ofSuperBlocks(rows, cols, ByteRows.Kind.SIX_BIT_SUPER_BLOCKS, (r, u, sub, d) -> {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, r * rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < blocks; blk++, o += 210) {
                for (int n = 0; n < 2; n++) {
                    for (int l = 0; l < 32; l += 8) {
                        long a = (long) LONGS.get(raw, o + 64 * n + l), b = (long) LONGS.get(raw, o + 64 * n + 32 + l);
                        long h = (long) LONGS.get(raw, o + 128 + 32 * n + l);
                        int at = 256 * blk + 128 * n + l;
                        LONGS.set(u, at, a & LOW | (h & HIGH) << 4);
                        LONGS.set(u, at + 32, b & LOW | (h >>> 2 & HIGH) << 4);
                        LONGS.set(u, at + 64, a >>> 4 & LOW | (h >>> 4 & HIGH) << 4);
                        LONGS.set(u, at + 96, b >>> 4 & LOW | (h >>> 6 & HIGH) << 4);
                    }
                }
                System.arraycopy(raw, o + 192, sub, 16 * blk, 16);
                d[blk] = Float.float16ToFloat((short) SHORTS.get(raw, o + 208));
            }
        });
    }

    /** Per byte of eight codes: the low nibble, and bits 0–1 of a {@code qh} byte (each code's high part, shifted into place). */
    private static final long LOW = 0x0F0F0F0F0F0F0F0FL, HIGH = 0x0303030303030303L;

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o + 208);
        for (int i = 0; i < 16; i++) {
            scale[i] = d * (byte) u8(o + 192 + i);
            min[i] = 0f;
        }
        for (int n = 0; n < 2; n++) {
            for (int h = 0; h < 2; h++) {
                ByteVector a = load16(o + 64 * n + 16 * h);
                ByteVector b = load16(o + 64 * n + 32 + 16 * h);
                ByteVector qh = load16(o + 128 + 32 * n + 16 * h);
                int at = 128 * n + 16 * h;
                code(bits(a, 0, 0x0F), qh, 0).intoArray(codes, at);
                code(bits(b, 0, 0x0F), qh, 2).intoArray(codes, at + 32);
                code(bits(a, 4, 0x0F), qh, 4).intoArray(codes, at + 64);
                code(bits(b, 4, 0x0F), qh, 6).intoArray(codes, at + 96);
            }
        }
    }
}

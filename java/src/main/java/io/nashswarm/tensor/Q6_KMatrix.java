package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

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
        byte[] codes = new byte[256];
        float[] scale = new float[16], min = new float[16];
        return ByteRows.ofSuperBlocks(rows, cols, ByteRows.Kind.SIX_BIT_SUPER_BLOCKS, (r, u, sub, d) -> {
            for (int blk = 0; blk < blocks; blk++) {
                long o = r * rowBytes + 210L * blk;
                decodeBlock(o, codes, scale, min);
                System.arraycopy(codes, 0, u, 256 * blk, 256);
                MemorySegment.copy(data, java.lang.foreign.ValueLayout.JAVA_BYTE, o + 192, sub, 16 * blk, 16);
                d[blk] = half(o + 208);
            }
        });
    }

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

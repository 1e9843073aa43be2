package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;

import java.lang.foreign.MemorySegment;

/**
 * GGML IQ4_NL and IQ4_XS: 4-bit indices into ggml's fixed non-uniform table {@link #VALUES}
 * ({@code kvalues_iq4nl}). IQ4_NL: blocks of 32 as Q4_0 (fp16 {@code d}, 16 bytes of nibbles),
 * {@code w = d·VALUES[q]}. IQ4_XS: super-blocks of 256 in 136 bytes: fp16 {@code d}, a uint16 of
 * high scale bits, 4 bytes of low scale nibbles, then per sub-block of 32 sixteen bytes of nibbles as
 * IQ4_NL; sub-block {@code i}'s 6-bit scale is nibble {@code i%2} of byte {@code i/2} plus bits
 * {@code 2i..2i+1} of the uint16 on top, and {@code w = d·(scale − 32)·VALUES[q]}.
 */
final class IQ4Matrix extends GgmlBlockMatrix {
    static final byte[] VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final ByteVector TABLE = ByteVector.fromArray(B16, VALUES, 0);

    private final boolean xs;

    /** IQ4_XS when {@code xs}, else IQ4_NL. */
    IQ4Matrix(boolean xs, MemorySegment data, int rows, int cols) {
        super(xs ? QuantType.IQ4_XS : QuantType.IQ4_NL, data, rows, cols, 32);
        this.xs = xs;
    }

    /** The 32 weights of the 16 bytes at {@code q}: low nibbles first, then high nibbles, through the table. */
    private void nibbles(long q, byte[] codes, int at) {
        ByteVector v = load16(q);
        bits(v, 0, 0x0F).selectFrom(TABLE).intoArray(codes, at);
        bits(v, 4, 0x0F).selectFrom(TABLE).intoArray(codes, at + 16);
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o);
        if (!xs) {
            nibbles(o + 2, codes, 0);
            scale[0] = d;
            min[0] = 0f;
            return;
        }
        int high = data.get(F16, o + 2) & 0xFFFF;
        for (int i = 0; i < 8; i++) {
            int ls = ((u8(o + 4 + i / 2) >>> (4 * (i % 2))) & 0x0F) | ((high >>> (2 * i)) & 3) << 4;
            scale[i] = d * (ls - 32);
            min[i] = 0f;
            nibbles(o + 8 + 16L * i, codes, 32 * i);
        }
    }
}

package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q5_0 and Q5_1: blocks of 32 weights: fp16 {@code d} (Q5_1: then fp16 minimum {@code m}), a
 * little-endian uint32 {@code qh} whose bit {@code j} is weight {@code j}'s fifth bit, then 16 bytes of
 * low nibbles as in Q4_0. Q5_0: {@code w = d·(q − 16)}; Q5_1: {@code w = d·q + m}.
 */
final class Q5Matrix extends GgmlBlockMatrix {
    // Lane j of the first (second) half takes qh byte j/8 (2 + j/8) and tests bit j%8 of it.
    private static final VectorShuffle<Byte> LOW = VectorShuffle.fromValues(B16, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    private static final VectorShuffle<Byte> HIGH = VectorShuffle.fromValues(B16, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    private static final ByteVector BIT = ByteVector.fromArray(B16,
            new byte[] {1, 2, 4, 8, 16, 32, 64, (byte) 128, 1, 2, 4, 8, 16, 32, 64, (byte) 128}, 0);

    private final boolean withMin;

    /** Q5_1 when {@code withMin}, else Q5_0. */
    Q5Matrix(boolean withMin, MemorySegment data, int rows, int cols) {
        super(withMin ? QuantType.Q5_1 : QuantType.Q5_0, data, rows, cols, 32);
        this.withMin = withMin;
    }

    @Override
    int lookupBits() {
        return 5;
    }

    @Override
    int lookupOffset() {
        return withMin ? 0 : 16;
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        long qh = o + (withMin ? 4 : 2);
        ByteVector h = load16(qh);
        ByteVector v = load16(qh + 4);
        VectorMask<Byte> lo = h.rearrange(LOW).and(BIT).compare(VectorOperators.NE, 0);
        VectorMask<Byte> hi = h.rearrange(HIGH).and(BIT).compare(VectorOperators.NE, 0);
        int offset = withMin ? 0 : 16;
        bits(v, 0, 0x0F).lanewise(VectorOperators.OR, 16, lo).sub((byte) offset).intoArray(codes, 0);
        bits(v, 4, 0x0F).lanewise(VectorOperators.OR, 16, hi).sub((byte) offset).intoArray(codes, 16);
        scale[0] = half(o);
        min[0] = withMin ? -half(o + 2) : 0f;
    }
}

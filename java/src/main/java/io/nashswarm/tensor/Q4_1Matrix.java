package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q4_1: blocks of 32 weights: fp16 scale {@code d}, fp16 minimum {@code m}, 16 bytes of nibbles
 * (byte {@code j}: weight {@code j} low, weight {@code j+16} high); {@code w = d·q + m}.
 */
final class Q4_1Matrix extends GgmlBlockMatrix {
    Q4_1Matrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q4_1, data, rows, cols, 32);
    }

    @Override
    int lookupBits() {
        return 4;
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        ByteVector v = load16(o + 4);
        bits(v, 0, 0x0F).intoArray(codes, 0);
        bits(v, 4, 0x0F).intoArray(codes, 16);
        scale[0] = half(o);
        min[0] = -half(o + 2);
    }
}

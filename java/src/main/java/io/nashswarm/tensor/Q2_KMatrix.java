package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q2_K: super-blocks of 256 weights in 84 bytes: 16 bytes of 4-bit scale (low) and 4-bit minimum
 * (high) per sub-block of 16, 64 bytes of 2-bit codes, fp16 {@code d} and {@code dmin}. Weight
 * {@code 128n + 32j + l} (l < 32) is bits {@code 2j..2j+1} of code byte {@code 32n + l};
 * {@code w = d·scale·q − dmin·min} with its sub-block's scale and minimum.
 */
final class Q2_KMatrix extends GgmlBlockMatrix {
    Q2_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q2_K, data, rows, cols, 16);
    }

    @Override
    int lookupBits() {
        return 2;
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o + 80), dmin = half(o + 82);
        for (int i = 0; i < 16; i++) {
            int sc = u8(o + i);
            scale[i] = d * (sc & 0x0F);
            min[i] = dmin * (sc >>> 4);
        }
        for (int n = 0; n < 2; n++) {
            for (int h = 0; h < 2; h++) {
                ByteVector q = load16(o + 16 + 32 * n + 16 * h);
                for (int j = 0; j < 4; j++) {
                    bits(q, 2 * j, 3).intoArray(codes, 128 * n + 32 * j + 16 * h);
                }
            }
        }
    }
}

package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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

    /**
     * The copy for the 16-bit product kernels (made at the first product): the codes in 16-bit fields of eight
     * ({@link ByteRows#TWO_SUPER_BYTES}), the scale-and-minimum bytes as stored, {@code d} and {@code dmin} as floats, all
     * exact (2.75 bits/weight resident against the file's 2.625).
     */
    @Override
    ByteRows makeByteRows() {
        // each row's bytes copied once and split eight codes at a time (as Q4_K's copy; block by block through
        // decodeBlock's vectors read from the mapping, a 1B Q2_K's copies took about 3 s)
        byte[] raw = new byte[Math.toIntExact(rowBytes)];
        return ByteRows.ofTwoBits(rows, cols, (r, u, sub, mins, d, dmin) -> {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, r * rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < blocks; blk++, o += 84) {
                for (int i = 0; i < 16; i++) {
                    int sc = raw[o + i] & 0xFF;
                    sub[16 * blk + i] = (byte) (sc & 0x0F);
                    mins[16 * blk + i] = (byte) (sc >>> 4);
                }
                for (int n = 0; n < 2; n++) {
                    for (int l = 0; l < 32; l += 8) { // qs byte 32n + l: bits 2j, 2j + 1 the code of weight 128n + 32j + l
                        long v = (long) LONGS.get(raw, o + 16 + 32 * n + l);
                        for (int j = 0; j < 4; j++) {
                            LONGS.set(u, 256 * blk + 128 * n + 32 * j + l, v >>> 2 * j & 0x0303030303030303L);
                        }
                    }
                }
                d[blk] = Float.float16ToFloat((short) SHORTS.get(raw, o + 80));
                dmin[blk] = Float.float16ToFloat((short) SHORTS.get(raw, o + 82));
            }
        });
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

package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML Q3_K: super-blocks of 256 weights in 110 bytes: a 32-byte high-bit mask, 64 bytes of 2-bit
 * codes, 12 bytes holding sixteen 6-bit scales, fp16 {@code d}. Weight {@code 128n + 32j + l} is bits
 * {@code 2j..2j+1} of code byte {@code 32n + l}, minus 4 unless bit {@code 4n + j} of mask byte {@code l}
 * is set; {@code w = d·(scale − 32)·q} with its sub-block of 16's scale.
 */
final class Q3_KMatrix extends GgmlBlockMatrix {
    Q3_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q3_K, data, rows, cols, 16);
    }

    /**
     * The copy for the 16-bit product kernels (made at the first product): the codes in 16-bit fields of five
     * ({@link ByteRows#THREE_SUPER_BYTES}), the sub-scales {@code scale − 32} as int8 and {@code d} as a float, all exact
     * (3.625 bits/weight resident against the file's 3.44).
     */
    @Override
    ByteRows makeByteRows() {
        // each row's bytes copied once and split eight codes at a time (as Q4_K's copy; block by block through
        // decodeBlock's vectors read from the mapping, a 1B Q3_K_M's copies took about 2.7 s)
        byte[] raw = new byte[Math.toIntExact(rowBytes)];
        return ByteRows.ofSuperBlocks(rows, cols, ByteRows.Kind.THREE_BIT_SUPER_BLOCKS, (r, u, sub, d) -> {
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, r * rowBytes, raw, 0, raw.length);
            for (int blk = 0, o = 0; blk < blocks; blk++, o += 110) {
                for (int l = 0; l < 32; l += 8) {
                    long m = (long) LONGS.get(raw, o + l); // hmask byte l: bit 4n + j the high bit of weight 128n + 32j + l
                    for (int n = 0; n < 2; n++) {
                        long v = (long) LONGS.get(raw, o + 32 + 32 * n + l); // qs byte 32n + l: bits 2j, 2j + 1
                        for (int j = 0; j < 4; j++) {
                            long x = v >>> 2 * j & 0x0303030303030303L | (m >>> 4 * n + j & 0x0101010101010101L) << 2; // 0..7 per byte
                            // minus 4 per byte without borrows: (x + 124) has no carry out of a byte, then its top bit flipped
                            LONGS.set(u, 256 * blk + 128 * n + 32 * j + l, ((x | 0x8080808080808080L) - 0x0404040404040404L) ^ 0x8080808080808080L);
                        }
                    }
                }
                for (int i = 0; i < 16; i++) {
                    int low = (raw[o + 96 + i % 8] & 0xFF) >>> 4 * (i / 8) & 0x0F, high = (raw[o + 104 + i % 4] & 0xFF) >>> 2 * (i / 4) & 3;
                    sub[16 * blk + i] = (byte) ((low | high << 4) - 32);
                }
                d[blk] = Float.float16ToFloat((short) SHORTS.get(raw, o + 108));
            }
        });
    }

    /** Sub-block i's 6-bit scale minus 32 from the 12 bytes at {@code s}: low 4 bits in byte i%8 (low nibble for i < 8, high for i ≥ 8), high 2 bits in byte 8 + i%4 at bit 2·(i/4). */
    private int subScale(long s, int i) {
        int low = (u8(s + i % 8) >>> (4 * (i / 8))) & 0x0F;
        int high = (u8(s + 8 + i % 4) >>> (2 * (i / 4))) & 3;
        return (low | high << 4) - 32;
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o + 108);
        for (int i = 0; i < 16; i++) {
            scale[i] = d * subScale(o + 96, i);
            min[i] = 0f;
        }
        for (int h = 0; h < 2; h++) {
            ByteVector mask = load16(o + 16 * h);
            for (int n = 0; n < 2; n++) {
                ByteVector q = load16(o + 32 + 32 * n + 16 * h);
                for (int j = 0; j < 4; j++) {
                    bits(q, 2 * j, 3).add(bits(mask, 4 * n + j, 1).lanewise(VectorOperators.LSHL, 2)).sub((byte) 4)
                            .intoArray(codes, 128 * n + 32 * j + 16 * h);
                }
            }
        }
    }
}

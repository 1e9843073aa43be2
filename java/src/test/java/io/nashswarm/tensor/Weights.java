package io.nashswarm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Test-side encoding and decoding of stored weights, written independently of the classes under
 * test: the tests build raw bytes here, wrap them with {@link Matrices#of}, and compute references
 * from the same bytes with this code.
 */
final class Weights {
    private Weights() {}

    /** Encodes {@code values} (in storage order) as little-endian {@code type} elements; values must be representable. */
    static byte[] encodeDense(QuantType type, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * (type == QuantType.F32 ? 4 : 2)).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (type) {
                case F32 -> b.putFloat(v);
                case F16 -> b.putShort(Float.floatToFloat16(v));
                case BF16 -> b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return b.array();
    }

    /** Element {@code i} (storage order) of dense little-endian {@code type} bytes. */
    static double decodeDense(QuantType type, byte[] bytes, long i) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return switch (type) {
            case F32 -> b.getFloat((int) i * 4);
            case F16 -> Float.float16ToFloat(b.getShort((int) i * 2));
            case BF16 -> Float.intBitsToFloat((b.getShort((int) i * 2) & 0xFFFF) << 16);
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** Weight (r, c) of a row-major Q8_0 or Q4_0 matrix, decoded from the ggml block layout. */
    static double decodeBlock(QuantType type, byte[] bytes, int cols, int r, int c) {
        int blocks = cols / 32;
        int o = (r * blocks + c / 32) * type.bytesPerBlock();
        int j = c % 32;
        double d = Float.float16ToFloat((short) ((bytes[o] & 0xFF) | (bytes[o + 1] & 0xFF) << 8));
        if (type == QuantType.Q8_0) {
            return d * bytes[o + 2 + j];
        }
        int packed = bytes[o + 2 + j % 16] & 0xFF;
        int q = j < 16 ? packed & 0x0F : packed >>> 4;
        return d * (q - 8);
    }

    /** W[r][c] of any matrix the tests build. */
    static double weight(QuantType type, Layout layout, byte[] bytes, int rows, int cols, int r, int c) {
        if (type.blockSize() > 1) {
            return decodeBlock(type, bytes, cols, r, c);
        }
        long i = layout == Layout.OUT_IN ? (long) r * cols + c : (long) c * rows + r;
        return decodeDense(type, bytes, i);
    }

    /** Copies {@code bytes} into off-heap memory that worker threads may read (the arena is shared). */
    static MemorySegment offHeap(Arena arena, byte[] bytes) {
        MemorySegment seg = arena.allocate(Math.max(1, bytes.length), 64).asSlice(0, bytes.length);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        return seg;
    }
}

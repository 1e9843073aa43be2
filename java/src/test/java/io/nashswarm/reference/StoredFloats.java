package io.nashswarm.reference;

import io.nashswarm.format.safetensors.SafetensorsDtype;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Element encodings written from their definitions (IEEE 754 binary32 / binary16, bfloat16), with
 * no engine code: the reference reads back exactly the values a checkpoint stores.
 */
final class StoredFloats {
    private StoredFloats() {}

    /** Little-endian bytes of {@code values} in {@code dtype}, rounding to nearest even. */
    static byte[] encode(double[] values, SafetensorsDtype dtype) {
        ByteBuffer b = ByteBuffer.allocate(values.length * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : values) {
            float f = (float) d;
            switch (dtype) {
                case F32 -> b.putFloat(f);
                case F16 -> b.putShort(Float.floatToFloat16(f));
                case BF16 -> b.putShort(bf16Bits(f));
                default -> throw new IllegalArgumentException(dtype.name());
            }
        }
        return b.array();
    }

    /** The values little-endian {@code bytes} of {@code dtype} hold. */
    static double[] decode(byte[] bytes, SafetensorsDtype dtype) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[bytes.length / dtype.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case F32 -> Float.intBitsToFloat(b.getInt());
                case F16 -> halfToDouble(b.getShort() & 0xFFFF);
                case BF16 -> bfloat16ToDouble(b.getShort() & 0xFFFF);
                default -> throw new IllegalArgumentException(dtype.name());
            };
        }
        return out;
    }

    /** bfloat16 is the top half of a binary32: round the dropped 16 bits to nearest, ties to even. */
    static short bf16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
    static double halfToDouble(int h) {
        double sign = (h & 0x8000) != 0 ? -1 : 1;
        int exp = (h >>> 10) & 0x1F, frac = h & 0x3FF;
        if (exp == 0x1F) {
            return frac == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return exp == 0 ? sign * frac * Math.pow(2, -24) : sign * (1024 + frac) * Math.pow(2, exp - 25);
    }

    /** bfloat16: 1 sign bit, 8 exponent bits (bias 127), 7 fraction bits. */
    static double bfloat16ToDouble(int h) {
        double sign = (h & 0x8000) != 0 ? -1 : 1;
        int exp = (h >>> 7) & 0xFF, frac = h & 0x7F;
        if (exp == 0xFF) {
            return frac == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
        }
        return exp == 0 ? sign * frac * Math.pow(2, -133) : sign * (128 + frac) * Math.pow(2, exp - 134);
    }
}

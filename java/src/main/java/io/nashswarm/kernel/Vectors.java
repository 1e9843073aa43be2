package io.nashswarm.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The vector species the kernels share, and loads that turn stored weights (f32, f16, bf16, int8)
 * into float lanes.
 *
 * <p>{@link #F} is the machine's preferred float species clamped to 128..512 bits: narrower shapes
 * leave no room for the 16-bit loads (a short vector of 2 lanes does not exist), and a wider one would
 * not fit a Q4_0 half-block (16 bytes) in whole vectors. {@link #S} holds one short per float lane;
 * {@link #B} holds {@link #BYTE_PARTS} floats' worth of bytes (bytes need at least 64 bits, so with
 * 4 float lanes a byte load feeds two float vectors).
 */
public final class Vectors {
    public static final VectorSpecies<Float> F = floatSpecies();
    public static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    public static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    public static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, F.vectorBitSize() / 4)));
    /** Float vectors per {@link #B} load: 1, or 2 when {@link #F} has 4 lanes. */
    public static final int BYTE_PARTS = B.length() / F.length();
    /** Float lanes per vector. */
    public static final int L = F.length();

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** 2^112: rescales a half's exponent (bias 15) into a float's (bias 127); subnormal halves come out right too. */
    private static final float HALF_EXP_SCALE = 0x1p112f;

    private Vectors() {}

    private static VectorSpecies<Float> floatSpecies() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (bits < 128) {
            return FloatVector.SPECIES_128;
        }
        return bits > 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    }

    /** {@link #L} little-endian floats at {@code byteOffset}. */
    public static FloatVector f32(MemorySegment seg, long byteOffset) {
        return FloatVector.fromMemorySegment(F, seg, byteOffset, LE);
    }

    /** {@link #L} little-endian IEEE halves at {@code byteOffset}, widened to floats (exactly, NaN payloads included). */
    public static FloatVector f16(MemorySegment seg, long byteOffset) {
        return halfToFloat((IntVector) ShortVector.fromMemorySegment(S, seg, byteOffset, LE).castShape(I, 0));
    }

    /** {@link #L} little-endian bfloat16 values at {@code byteOffset}: each is the top half of a float. */
    public static FloatVector bf16(MemorySegment seg, long byteOffset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, seg, byteOffset, LE).castShape(I, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** {@code x[off ..+ n)} = the IEEE halves {@code h[hOff ..+ n)} as floats; a plain loop, which C2 vectorizes (vcvtph2ps). */
    public static void fromHalves(short[] h, int hOff, float[] x, int off, int n) {
        for (int i = 0; i < n; i++) {
            x[off + i] = Float.float16ToFloat(h[hOff + i]);
        }
    }

    /**
     * Halves (sign-extended into int lanes) to floats. Exponent and mantissa move up 13 bits into a
     * float's places and are rescaled by 2^112, which maps normals and subnormals alike; the result
     * reaches 2^16 only for Inf/NaN, whose exponent is then forced to all ones.
     */
    public static FloatVector halfToFloat(IntVector h) {
        IntVector sign = h.and(0x8000_0000);
        FloatVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(HALF_EXP_SCALE);
        IntVector bits = mag.reinterpretAsInts();
        bits = bits.lanewise(VectorOperators.OR, 0x7f80_0000, mag.compare(VectorOperators.GE, 0x1p16f).cast(I));
        return bits.or(sign).reinterpretAsFloats();
    }

    /** Part {@code part} (0 until {@link #BYTE_PARTS}) of {@link #B} signed bytes, as floats. */
    public static FloatVector int8(ByteVector bytes, int part) {
        return (FloatVector) bytes.castShape(F, part);
    }

    /** Signed bytes at {@code byteOffset}, {@link #B}'s length of them. */
    public static ByteVector bytes(MemorySegment seg, long byteOffset) {
        return ByteVector.fromMemorySegment(B, seg, byteOffset, LE);
    }

    /** Sum of a[i]·b[i] over {@code n} floats, both from arrays; for activations (attention, norms). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
            acc1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), acc1);
        }
        for (; i <= n - L; i += L) {
            acc0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc0);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[aOff + i] * b[bOff + i];
        }
        return s;
    }
}

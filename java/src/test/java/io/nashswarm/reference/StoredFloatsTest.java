package io.nashswarm.reference;

import io.nashswarm.format.safetensors.SafetensorsDtype;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The reference's own decoders against values from the IEEE 754 and bfloat16 definitions. */
class StoredFloatsTest {
    @Test
    void halfPrecisionKnownValues() {
        assertEquals(1.0, StoredFloats.halfToDouble(0x3C00));
        assertEquals(-2.0, StoredFloats.halfToDouble(0xC000));
        assertEquals(65504.0, StoredFloats.halfToDouble(0x7BFF));          // largest normal
        assertEquals(Math.pow(2, -14), StoredFloats.halfToDouble(0x0400)); // smallest normal
        assertEquals(Math.pow(2, -24), StoredFloats.halfToDouble(0x0001)); // smallest subnormal
        assertEquals(0.333251953125, StoredFloats.halfToDouble(0x3555));
        assertEquals(Double.NEGATIVE_INFINITY, StoredFloats.halfToDouble(0xFC00));
    }

    @Test
    void bfloat16KnownValues() {
        assertEquals(1.0, StoredFloats.bfloat16ToDouble(0x3F80));
        assertEquals(-2.0, StoredFloats.bfloat16ToDouble(0xC000));
        assertEquals(0.333984375, StoredFloats.bfloat16ToDouble(0x3EAB));
        assertEquals(3.3895313892515355e38, StoredFloats.bfloat16ToDouble(0x7F7F)); // largest finite
        assertEquals(Math.pow(2, -133), StoredFloats.bfloat16ToDouble(0x0001));    // smallest subnormal
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even (1.0)
        assertEquals((short) 0x3F80, StoredFloats.bf16Bits(1f + 0x1p-8f));
        // just above halfway rounds up
        assertEquals((short) 0x3F81, StoredFloats.bf16Bits(1f + 0x1p-8f + 0x1p-20f));
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up
        assertEquals((short) 0x3F82, StoredFloats.bf16Bits(1f + 3 * 0x1p-8f));
    }

    @Test
    void encodeThenDecodeIsTheRoundingOfEachDtype() {
        Random rng = new Random(7);
        double[] v = new double[1000];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        double[] f32 = StoredFloats.decode(StoredFloats.encode(v, SafetensorsDtype.F32), SafetensorsDtype.F32);
        double[] f16 = StoredFloats.decode(StoredFloats.encode(v, SafetensorsDtype.F16), SafetensorsDtype.F16);
        double[] bf16 = StoredFloats.decode(StoredFloats.encode(v, SafetensorsDtype.BF16), SafetensorsDtype.BF16);
        for (int i = 0; i < v.length; i++) {
            assertEquals((float) v[i], f32[i], 0.0);
            // round to nearest errs by at most half an ulp: half has 10 fraction bits (subnormal
            // spacing 2^-24), bfloat16 7; plus the float32 rounding that comes first
            double f32Err = Math.ulp((float) v[i]);
            double halfUlp = Math.max(Math.ulp((float) v[i]) * 0x1p13, 0x1p-24);
            assertEquals(v[i], f16[i], halfUlp / 2 + f32Err);
            assertEquals(v[i], bf16[i], Math.abs(v[i]) * 0x1p-8 + f32Err);
        }
    }
}

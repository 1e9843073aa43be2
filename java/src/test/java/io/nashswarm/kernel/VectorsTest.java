package io.nashswarm.kernel;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class VectorsTest {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void speciesFitTheBlockFormats() {
        System.out.println("kernel species: " + Vectors.F + ", bytes " + Vectors.B + " x" + Vectors.BYTE_PARTS);
        assertTrue(Vectors.L >= 4 && Vectors.L <= 16, "float lanes " + Vectors.L);
        assertEquals(Vectors.L, Vectors.S.length());
        assertEquals(Vectors.L, Vectors.I.length());
        assertEquals(Vectors.B.length(), Vectors.L * Vectors.BYTE_PARTS);
        assertEquals(0, 16 % Vectors.B.length(), "a Q4_0 half-block must be whole byte loads");
    }

    /** Every one of the 65536 halves, NaN payloads, infinities, subnormals and signed zeros included. */
    @Test
    void halfToFloatMatchesTheJdkBitForBit() {
        checkAllShorts(true);
    }

    @Test
    void bfloat16IsTheTopHalfOfAFloat() {
        checkAllShorts(false);
    }

    private static void checkAllShorts(boolean half) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(65536 * 2 + 2);
            for (int i = 0; i < 65536; i++) {
                seg.set(LE16, 2 + 2L * i, (short) i);   // offset 2: loads need not be aligned
            }
            float[] out = new float[Vectors.L];
            for (int i = 0; i < 65536; i += Vectors.L) {
                FloatVector v = half ? Vectors.f16(seg, 2 + 2L * i) : Vectors.bf16(seg, 2 + 2L * i);
                v.intoArray(out, 0);
                for (int k = 0; k < Vectors.L; k++) {
                    short h = (short) (i + k);
                    float want = half ? Float.float16ToFloat(h) : Float.intBitsToFloat((h & 0xFFFF) << 16);
                    // The JDK's own conversion may quiet a signalling NaN (the F16C instruction does),
                    // so NaNs compare with the quiet bit set; every other value bit for bit.
                    int quiet = Float.isNaN(want) ? 0x0040_0000 : 0;
                    float got = out[k];
                    assertEquals(Float.floatToRawIntBits(want) | quiet, Float.floatToRawIntBits(got) | quiet,
                            () -> String.format("0x%04x -> %s, want %s", h & 0xFFFF, got, want));
                }
            }
        }
    }

    @Test
    void signedBytesWidenPartByPart() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(256 + Vectors.B.length());
            for (int i = 0; i < seg.byteSize(); i++) {
                seg.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 37 + 128));
            }
            float[] out = new float[Vectors.L];
            for (int o = 0; o < 256; o += 3) {
                var bytes = Vectors.bytes(seg, o);
                for (int p = 0; p < Vectors.BYTE_PARTS; p++) {
                    Vectors.int8(bytes, p).intoArray(out, 0);
                    for (int k = 0; k < Vectors.L; k++) {
                        assertEquals(seg.get(ValueLayout.JAVA_BYTE, o + p * Vectors.L + k), out[k], 0f);
                    }
                }
            }
        }
    }

    @Test
    void arrayDotMatchesFloat64() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int n : new int[]{0, 1, 5, 8, 17, 100, 1023}) {
            float[] a = new float[n + 3], b = new float[n + 5];
            for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) rnd.nextGaussian();
            double ref = 0, abs = 0;
            for (int i = 0; i < n; i++) {
                ref += (double) a[3 + i] * b[5 + i];
                abs += Math.abs((double) a[3 + i] * b[5 + i]);
            }
            // Float sum of n products in any order: within γ_n·Σ|ab|, γ_n ≈ n·2^-24.
            assertEquals(ref, Vectors.dot(a, 3, b, 5, n), (n + 1) * 0x1p-24 * abs, "n=" + n);
        }
    }
}

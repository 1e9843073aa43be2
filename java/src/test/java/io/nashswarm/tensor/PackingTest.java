package io.nashswarm.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Hand-built sections checked against the documented layout, independently of the quantizers. */
class PackingTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static MemorySegment bytes(int... b) {
        MemorySegment s = Arena.ofAuto().allocate(b.length);
        for (int i = 0; i < b.length; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) b[i]);
        }
        return s;
    }

    private static MemorySegment halfs(float... v) {
        MemorySegment s = Arena.ofAuto().allocate(2L * v.length);
        for (int i = 0; i < v.length; i++) {
            s.set(F16, 2L * i, Float.floatToFloat16(v[i]));
        }
        return s;
    }

    @Test
    void int4LayoutLowNibblesThenHighNibblesPerEightBytes() {
        // 1x32, one group, symmetric (z = 8), scale 0.5. Byte j (j < 8) holds weights j (low) and j+8 (high);
        // bytes 8..15 hold weights 16..23 (low) and 24..31 (high).
        int[] b = new int[16];
        b[0] = 0x3A;  // w0 = 0xA = 10, w8 = 3
        b[7] = 0xF0;  // w7 = 0, w15 = 15
        b[8] = 0x29;  // w16 = 9, w24 = 2
        b[15] = 0x81; // w23 = 1, w31 = 8
        for (int j : new int[] {1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14}) {
            b[j] = 0x88;
        }
        var m = IntGroupMatrix.fromSections(QuantType.INT4, 1, 32, GroupSpec.symmetric(32),
                Map.of(Section.CODES, bytes(b), Section.SCALES, halfs(0.5f)));
        float[] w = new float[32];
        m.dequantizeRow(0, w, 0);
        assertEquals(0.5f * (10 - 8), w[0]);
        assertEquals(0.5f * (3 - 8), w[8]);
        assertEquals(0.5f * (0 - 8), w[7]);
        assertEquals(0.5f * (15 - 8), w[15]);
        assertEquals(0.5f * (9 - 8), w[16]);
        assertEquals(0.5f * (2 - 8), w[24]);
        assertEquals(0.5f * (1 - 8), w[23]);
        assertEquals(0f, w[31]);
        assertEquals(0f, w[1]);
        // The kernel agrees: x = e_i picks weight i.
        for (int i : new int[] {0, 7, 8, 15, 16, 23, 24, 31}) {
            float[] x = new float[32];
            x[i] = 1f;
            float[] y = new float[1];
            m.matvec(x, y, 0, 1);
            assertEquals(w[i], y[0], 0f, "weight " + i);
        }
    }

    @Test
    void int2LayoutFourPlanesOfEightWeights() {
        // Byte j holds weights j, j+8, j+16, j+24 in bits 0-1, 2-3, 4-5, 6-7. Asymmetric, zero 1, scale 2.
        int[] b = new int[8];
        b[0] = 0b11_10_01_00; // w0 = 0, w8 = 1, w16 = 2, w24 = 3
        b[7] = 0b00_01_10_11; // w7 = 3, w15 = 2, w23 = 1, w31 = 0
        var m = IntGroupMatrix.fromSections(QuantType.INT2, 1, 32, GroupSpec.asymmetric(32),
                Map.of(Section.CODES, bytes(b), Section.SCALES, halfs(2f), Section.ZEROS, bytes(0b01)));
        float[] w = new float[32];
        m.dequantizeRow(0, w, 0);
        assertArrayEquals(new float[] {-2, 0, 2, 4}, new float[] {w[0], w[8], w[16], w[24]});
        assertArrayEquals(new float[] {4, 2, 0, -2}, new float[] {w[7], w[15], w[23], w[31]});
        assertEquals(-2f, w[1]); // code 0 - zero 1
    }

    @Test
    void int8StoresSignedOffsetCodes() {
        int[] b = new int[32];
        b[0] = 0x7F;  // u = 255 → q = 127
        b[1] = 0x80;  // u = 0 → q = -128
        b[31] = 0x05; // q = 5
        var m = IntGroupMatrix.fromSections(QuantType.INT8, 1, 32, GroupSpec.symmetric(32),
                Map.of(Section.CODES, bytes(b), Section.SCALES, halfs(0.25f)));
        float[] w = new float[32];
        m.dequantizeRow(0, w, 0);
        assertEquals(0.25f * 127, w[0]);
        assertEquals(0.25f * -128, w[1]);
        assertEquals(0.25f * 5, w[31]);
        assertEquals(0f, w[2]);
    }

    @Test
    void unpackBytesGivesTheCodesOfUnpack() {
        java.util.Random rnd = new java.util.Random(7);
        for (int bits : new int[] {2, 4, 8}) {
            int n = 96;
            byte[] stored = new byte[n * bits / 8 + 8];
            rnd.nextBytes(stored);
            MemorySegment seg = MemorySegment.ofArray(stored);
            int[] u = new int[n];
            byte[] b = new byte[n + 5]; // longer than the run, as a row's array is for one width's groups of a mixed row
            java.util.Arrays.fill(b, (byte) 99);
            Packing.unpack(seg, 8, bits, n, u);
            Packing.unpackBytes(seg, 8, bits, n, b); // unpacks in place from the run's stored bytes at b[n − bytes ..]
            for (int i = 0; i < n; i++) {
                assertEquals(bits == 8 ? u[i] - 128 : u[i], b[i], bits + "-bit code " + i);
            }
            for (int i = n; i < b.length; i++) {
                assertEquals(99, b[i], "byte past the run");
            }
        }
    }

    @Test
    void mixedMapOrdersGroupsByWidth() {
        // 1x96, g32: groups 0 (2-bit), 1 (8-bit), 2 (4-bit); group i has its map code in bits 2i.
        int map = 0 | (2 << 2) | (1 << 4);
        int[] codes = new int[32 + 16 + 8];
        codes[0] = 3;            // 8-bit group (logical 1) first: weight 32 = q 3 (stored as u − 128)
        codes[32] = 0x0F;        // then 4-bit group (logical 2): weight 64 = 15, weight 72 = 0
        codes[48] = 0b11;        // then 2-bit group (logical 0): weight 0 = 3
        var m = MixedGroupMatrix.fromSections(1, 96, GroupSpec.symmetric(32), Map.of(
                Section.MAP, bytes(map), Section.CODES, bytes(codes), Section.SCALES, halfs(1f, 2f, 4f)));
        float[] w = new float[96];
        m.dequantizeRow(0, w, 0);
        assertEquals(1f * 3, w[32]);            // 8-bit, scale 1 (first stored)
        assertEquals(2f * (15 - 8), w[64]);     // 4-bit, scale 2
        assertEquals(2f * (0 - 8), w[72]);
        assertEquals(4f * (3 - 2), w[0]);       // 2-bit, scale 4
        assertEquals(4f * (0 - 2), w[1]);
        assertEquals(8, m.width(0, 1));
        assertEquals(2, m.width(0, 0));
    }

    @Test
    void bitFieldsCrossBytes() {
        byte[] b = new byte[3];
        Packing.writeBits(b, 2, 2, 3);
        Packing.writeBits(b, 4, 8, 0xA5);
        Packing.writeBits(b, 12, 4, 0x6);
        MemorySegment s = MemorySegment.ofArray(b);
        assertEquals(3, Packing.readBits(s, 2, 2));
        assertEquals(0xA5, Packing.readBits(s, 4, 8));
        assertEquals(0x6, Packing.readBits(s, 12, 4));
        assertEquals(0, Packing.readBits(s, 0, 2));
    }
}

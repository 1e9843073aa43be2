package io.nashswarm.tensor;

import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class FP4MatrixTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** bitsandbytes' dDequantizeFP4Tree constants, by its 3-bit magnitude pattern. */
    private static final double[] BNB = {0, 5.208333333e-03, 0.66666667, 1.0, 0.33333333, 0.5, 0.16666667, 0.25};

    @Test
    void levelsAreBitsandbytesFp4() {
        double[] expected = new double[15];
        // expected[7] stays 0: bitsandbytes' +0 and −0 are one level here
        double[] sorted = {BNB[1], BNB[6], BNB[7], BNB[4], BNB[5], BNB[2], BNB[3]}; // ascending magnitudes
        for (int i = 0; i < 7; i++) {
            expected[8 + i] = sorted[i];
            expected[6 - i] = -sorted[i];
        }
        for (int u = 0; u < 15; u++) {
            assertEquals(expected[u], Fp4.value(u), 1e-7, "code " + u);
        }
        assertEquals(15, Fp4.CODEC.levels().length);
    }

    @Test
    void dequantizationMatchesHandComputedBlocks() {
        // Row 0: scale 2 (exact in fp16); row 1: scale 0.5. Codes chosen by hand, values written out by hand.
        int[][] codes = new int[2][64];
        double[][] expected = new double[2][64];
        int[] pattern = {14, 0, 13, 9, 8, 2, 7, 10}; // +1, −1, +8/12, +2/12, +0.0625/12, −6/12, 0, +3/12
        double[] row0 = {2.0, -2.0, 8.0 / 12 * 2, 2.0 / 12 * 2, 0.0625 / 12 * 2, -6.0 / 12 * 2, 0, 3.0 / 12 * 2};
        double[] row1 = {0.5, -0.5, 8.0 / 12 * 0.5, 2.0 / 12 * 0.5, 0.0625 / 12 * 0.5, -6.0 / 12 * 0.5, 0, 3.0 / 12 * 0.5};
        for (int c = 0; c < 64; c++) {
            codes[0][c] = pattern[c % 8];
            codes[1][c] = pattern[(c + 3) % 8];
            expected[0][c] = row0[c % 8];
            expected[1][c] = row1[(c + 3) % 8];
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment codeSeg = arena.allocate(64), scaleSeg = arena.allocate(4);
            byte[] packed = new byte[32];
            for (int r = 0; r < 2; r++) {
                Packing.pack(4, codes[r], 0, 64, packed, 0);
                MemorySegment.copy(packed, 0, codeSeg, ValueLayout.JAVA_BYTE, 32L * r, 32);
            }
            scaleSeg.set(F16, 0, Float.floatToFloat16(2f));
            scaleSeg.set(F16, 2, Float.floatToFloat16(0.5f));
            FP4Matrix m = FP4Matrix.fromSections(2, 64, GroupSpec.symmetric(64), Map.of(Section.CODES, codeSeg, Section.SCALES, scaleSeg));
            float[] out = new float[64];
            float[] x = new float[64];
            Random rnd = new Random(3);
            for (int c = 0; c < 64; c++) {
                x[c] = (float) rnd.nextGaussian();
            }
            float[] y = new float[2];
            m.matvec(x, y, 0, 2);
            for (int r = 0; r < 2; r++) {
                m.dequantizeRow(r, out, 0);
                double dot = 0;
                for (int c = 0; c < 64; c++) {
                    assertEquals(expected[r][c], out[c], 1e-6, "row " + r + " col " + c);
                    dot += expected[r][c] * x[c];
                }
                assertEquals(dot, y[r], 1e-4, "kernel row " + r);
            }
        }
    }

    @Test
    void quantizerPicksTheNearestCodeWithAnAbsmaxScale() {
        float[][] w = new float[1][64];
        // absmax 3 -> scale 3; each weight/3 lands nearest to a known magnitude.
        float[] vals = {3f, -3f, 1.9f, -0.4f, 0.6f, 0.01f, 0f, 1.1f};
        int[] expect = {14, 0, 13, 5, 9, 8, 7, 11}; // 1, −1, 8/12, −2/12, 2/12, 0.0625/12, 0, 4/12
        for (int c = 0; c < 64; c++) {
            w[0][c] = vals[c % 8];
        }
        try (Arena arena = Arena.ofShared()) {
            FP4Matrix m = (FP4Matrix) RtnQuantizer.codebook(RowSource.of(w), QuantType.FP4, GroupSpec.symmetric(64), arena);
            assertEquals(3f, m.scale(0, 0));
            for (int c = 0; c < 64; c++) {
                assertEquals(expect[c % 8], m.code(0, c), "col " + c + " value " + vals[c % 8]);
            }
        }
    }
}

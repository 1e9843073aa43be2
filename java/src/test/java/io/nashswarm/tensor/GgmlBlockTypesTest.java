package io.nashswarm.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The llama.cpp block types against a scalar reference written here from ggml's block definitions
 * (ggml-common.h) and its dequantize_row_* loops, one weight at a time in float64, on random block
 * bytes; then the matrix products against float64 dot products of the reference rows.
 */
public class GgmlBlockTypesTest {
    private static final int[] IQ4 = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** Random bytes for {@code blocks} blocks, with every fp16 field set to a small finite value. */
    public static byte[] randomBlocks(QuantType t, int blocks, Random rng) {
        byte[] b = new byte[blocks * t.bytesPerBlock()];
        rng.nextBytes(b);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < blocks; k++) {
            int o = k * t.bytesPerBlock();
            for (int f : halfFields(t)) {
                bb.putShort(o + f, Float.floatToFloat16((float) (rng.nextDouble() * 0.02 - 0.005)));
            }
        }
        return b;
    }

    /** Byte offsets of the fp16 fields of one block (ggml-common.h). */
    static int[] halfFields(QuantType t) {
        return switch (t) {
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q5_0, IQ4_NL, IQ4_XS -> new int[] {0};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(t.label());
        };
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    private static double half(byte[] b, int i) {
        return Float.float16ToFloat((short) (u8(b, i) | u8(b, i + 1) << 8));
    }

    /** One block at byte {@code o} of {@code b}, dequantized as ggml's reference loops do. */
    static double[] reference(QuantType t, byte[] b, int o) {
        double[] y = new double[t.blockSize()];
        switch (t) {
            case Q4_1 -> {
                double d = half(b, o), m = half(b, o + 2);
                for (int j = 0; j < 16; j++) {
                    y[j] = (u8(b, o + 4 + j) & 0xF) * d + m;
                    y[j + 16] = (u8(b, o + 4 + j) >> 4) * d + m;
                }
            }
            case Q5_0, Q5_1 -> {
                boolean one = t == QuantType.Q5_1;
                double d = half(b, o), m = one ? half(b, o + 2) : 0;
                int q = o + (one ? 4 : 2);
                long qh = (u8(b, q) | u8(b, q + 1) << 8 | u8(b, q + 2) << 16 | (long) u8(b, q + 3) << 24);
                for (int j = 0; j < 16; j++) {
                    long xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
                    int x0 = (int) ((u8(b, q + 4 + j) & 0xF) | xh0), x1 = (int) ((u8(b, q + 4 + j) >> 4) | xh1);
                    y[j] = one ? x0 * d + m : (x0 - 16) * d;
                    y[j + 16] = one ? x1 * d + m : (x1 - 16) * d;
                }
            }
            case Q2_K -> {
                double d = half(b, o + 80), dmin = half(b, o + 82);
                int out = 0, is = 0;
                for (int n = 0; n < 256; n += 128) {
                    int q = o + 16 + n / 4, shift = 0;
                    for (int j = 0; j < 4; j++) {
                        int sc = u8(b, o + is++);
                        for (int l = 0; l < 16; l++) y[out++] = d * (sc & 0xF) * ((u8(b, q + l) >> shift) & 3) - dmin * (sc >> 4);
                        sc = u8(b, o + is++);
                        for (int l = 0; l < 16; l++) y[out++] = d * (sc & 0xF) * ((u8(b, q + l + 16) >> shift) & 3) - dmin * (sc >> 4);
                        shift += 2;
                    }
                }
            }
            case Q3_K -> {
                // ggml unpacks the 12 scale bytes as three little-endian uint32 with masks 0x03030303 and 0x0f0f0f0f.
                long[] aux = new long[4];
                for (int k = 0; k < 3; k++) {
                    int s = o + 96 + 4 * k;
                    aux[k] = u8(b, s) | u8(b, s + 1) << 8 | u8(b, s + 2) << 16 | (long) u8(b, s + 3) << 24;
                }
                long tmp = aux[2], k1 = 0x03030303L, k2 = 0x0f0f0f0fL;
                aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4);
                aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4);
                aux[0] = (aux[0] & k2) | ((tmp & k1) << 4);
                aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4);
                int[] scales = new int[16];
                for (int i = 0; i < 16; i++) scales[i] = (byte) (aux[i / 4] >> (8 * (i % 4))) - 32;
                double d = half(b, o + 108);
                int out = 0, is = 0, m = 1;
                for (int n = 0; n < 256; n += 128) {
                    int q = o + 32 + n / 4, shift = 0;
                    for (int j = 0; j < 4; j++) {
                        double dl = d * scales[is++];
                        for (int l = 0; l < 16; l++) y[out++] = dl * (((u8(b, q + l) >> shift) & 3) - ((u8(b, o + l) & m) != 0 ? 0 : 4));
                        dl = d * scales[is++];
                        for (int l = 0; l < 16; l++) y[out++] = dl * (((u8(b, q + l + 16) >> shift) & 3) - ((u8(b, o + l + 16) & m) != 0 ? 0 : 4));
                        shift += 2;
                        m <<= 1;
                    }
                }
            }
            case Q4_K, Q5_K -> {
                boolean five = t == QuantType.Q5_K;
                double d = half(b, o), dmin = half(b, o + 2);
                int ql = o + (five ? 48 : 16), qh = o + 16, out = 0, is = 0, u1 = 1, u2 = 2;
                for (int j = 0; j < 256; j += 64) {
                    int[] sm1 = scaleMinK4(b, o + 4, is), sm2 = scaleMinK4(b, o + 4, is + 1);
                    for (int l = 0; l < 32; l++) {
                        int hb = five && (u8(b, qh + l) & u1) != 0 ? 16 : 0;
                        y[out++] = d * sm1[0] * ((u8(b, ql + l) & 0xF) + hb) - dmin * sm1[1];
                    }
                    for (int l = 0; l < 32; l++) {
                        int hb = five && (u8(b, qh + l) & u2) != 0 ? 16 : 0;
                        y[out++] = d * sm2[0] * ((u8(b, ql + l) >> 4) + hb) - dmin * sm2[1];
                    }
                    ql += 32;
                    is += 2;
                    u1 <<= 2;
                    u2 <<= 2;
                }
            }
            case Q6_K -> {
                double d = half(b, o + 208);
                int ql = o, qh = o + 128, sc = o + 192;
                for (int n = 0; n < 256; n += 128) {
                    for (int l = 0; l < 32; l++) {
                        int is = l / 16;
                        int q1 = ((u8(b, ql + l) & 0xF) | ((u8(b, qh + l) & 3) << 4)) - 32;
                        int q2 = ((u8(b, ql + l + 32) & 0xF) | (((u8(b, qh + l) >> 2) & 3) << 4)) - 32;
                        int q3 = ((u8(b, ql + l) >> 4) | (((u8(b, qh + l) >> 4) & 3) << 4)) - 32;
                        int q4 = ((u8(b, ql + l + 32) >> 4) | (((u8(b, qh + l) >> 6) & 3) << 4)) - 32;
                        y[n + l] = d * b[sc + is] * q1;
                        y[n + l + 32] = d * b[sc + is + 2] * q2;
                        y[n + l + 64] = d * b[sc + is + 4] * q3;
                        y[n + l + 96] = d * b[sc + is + 6] * q4;
                    }
                    ql += 64;
                    qh += 32;
                    sc += 8;
                }
            }
            case IQ4_NL -> {
                double d = half(b, o);
                for (int j = 0; j < 16; j++) {
                    y[j] = d * IQ4[u8(b, o + 2 + j) & 0xF];
                    y[j + 16] = d * IQ4[u8(b, o + 2 + j) >> 4];
                }
            }
            case IQ4_XS -> {
                double d = half(b, o);
                int scalesH = u8(b, o + 2) | u8(b, o + 3) << 8;
                for (int ib = 0; ib < 8; ib++) {
                    int ls = ((u8(b, o + 4 + ib / 2) >> 4 * (ib % 2)) & 0xf) | (((scalesH >> 2 * ib) & 3) << 4);
                    double dl = d * (ls - 32);
                    for (int j = 0; j < 16; j++) {
                        y[32 * ib + j] = dl * IQ4[u8(b, o + 8 + 16 * ib + j) & 0xf];
                        y[32 * ib + j + 16] = dl * IQ4[u8(b, o + 8 + 16 * ib + j) >> 4];
                    }
                }
            }
            default -> throw new IllegalArgumentException(t.label());
        }
        return y;
    }

    /** ggml's get_scale_min_k4: {scale, min} of sub-block j from the 12 bytes at s. */
    private static int[] scaleMinK4(byte[] b, int s, int j) {
        if (j < 4) {
            return new int[] {u8(b, s + j) & 63, u8(b, s + j + 4) & 63};
        }
        return new int[] {(u8(b, s + j + 4) & 0xF) | ((u8(b, s + j - 4) >> 6) << 4), (u8(b, s + j + 4) >> 4) | ((u8(b, s + j) >> 6) << 4)};
    }

    static WeightMatrix matrix(QuantType t, byte[] bytes, int rows, int cols) {
        return Matrices.of(t, MemorySegment.ofArray(bytes), rows, cols, Layout.OUT_IN);
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void dequantizationMatchesGgmlDefinitions(QuantType t) {
        Random rng = new Random(t.ordinal());
        int rows = 3, perRow = 4, cols = perRow * t.blockSize();
        byte[] bytes = randomBlocks(t, rows * perRow, rng);
        WeightMatrix m = matrix(t, bytes, rows, cols);
        assertEquals(t, m.type());
        assertEquals((long) rows * perRow * t.bytesPerBlock(), m.storageBytes());
        float[] row = new float[cols + 5];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 5);
            for (int k = 0; k < perRow; k++) {
                double[] want = reference(t, bytes, (r * perRow + k) * t.bytesPerBlock());
                for (int i = 0; i < want.length; i++) {
                    double tol = 1e-6 * Math.max(1e-3, Math.abs(want[i]));
                    assertEquals(want[i], row[5 + k * t.blockSize() + i], tol, t + " row " + r + " block " + k + " weight " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void productsMatchFloat64DotsOfTheReferenceRows(QuantType t) {
        Random rng = new Random(100 + t.ordinal());
        int rows = 7, perRow = 3, cols = perRow * t.blockSize(), n = 5;
        byte[] bytes = randomBlocks(t, rows * perRow, rng);
        WeightMatrix m = matrix(t, bytes, rows, cols);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] y = new float[n * rows];
        m.matmul(x, y, n, 1, rows);
        float[] yv = new float[rows];
        m.matvec(x, yv, 0, rows);
        if (PackedReference.byteRows(m)) { // Q2_K–Q6_K: the 16-bit product kernels, on every machine
            for (int b = 0; b < n; b++) {
                assertEquals(0f, y[b * rows], "row 0 is outside the range and must not be written");
                PackedReference.assertByteRowProduct(m, x, b * cols, y, b * rows, 1, rows, t + " input " + b);
            }
            PackedReference.assertByteRowProduct(m, x, 0, yv, 0, 0, rows, t + " matvec");
            return;
        }
        boolean lookup = ((GgmlBlockMatrix) m).lookupBits() > 0 && cols % 64 == 0;
        if (lookup && LutKernels.NATIVE) {
            // the table-lookup path (see LutKernelsTest): within its table bound and fp16 scale rounding
            for (int b = 0; b < n; b++) {
                assertEquals(0f, y[b * rows], "row 0 is outside the range and must not be written");
                PackedReference.assertGgmlLookupRows((GgmlBlockMatrix) m, x, b * cols, y, b * rows, 1, rows, t + " input " + b);
            }
            PackedReference.assertGgmlLookupRows((GgmlBlockMatrix) m, x, 0, yv, 0, 0, rows, t + " matvec");
            return;
        }
        // the float kernels (the other types where the lookup does not run): the input as it is
        for (int r = 0; r < rows; r++) {
            double[] w = new double[cols];
            for (int k = 0; k < perRow; k++) {
                System.arraycopy(reference(t, bytes, (r * perRow + k) * t.bytesPerBlock()), 0, w, k * t.blockSize(), t.blockSize());
            }
            for (int b = 0; b < n; b++) {
                double exact = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    exact += w[c] * x[b * cols + c];
                    mag += Math.abs(w[c] * x[b * cols + c]);
                }
                if (r == 0) {
                    assertEquals(0f, y[b * rows + r], t + ": row 0 is outside the range and must not be written");
                } else {
                    assertEquals(exact, y[b * rows + r], 1e-5 * mag, t + " row " + r + " input " + b);
                }
                if (b == 0) {
                    assertEquals(exact, yv[r], 1e-5 * mag, t + " matvec row " + r);
                }
            }
        }
    }

    /** Q4_K's and Q6_K's float kernels, kept as references, agree with float64 on the exact input (they do not quantize it). */
    @ParameterizedTest
    @EnumSource(names = {"Q4_K", "Q6_K"})
    void floatReferenceKernelMatchesFloat64(QuantType t) {
        Random rng = new Random(300 + t.ordinal());
        int rows = 3, perRow = 2, cols = perRow * t.blockSize();
        byte[] bytes = randomBlocks(t, rows * perRow, rng);
        GgmlBlockMatrix m = (GgmlBlockMatrix) matrix(t, bytes, rows, cols);
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] y = new float[rows];
        m.matmulDequantized(x, y, 1, 0, rows);
        for (int r = 0; r < rows; r++) {
            double dot = 0, mag = 0;
            for (int k = 0; k < perRow; k++) {
                double[] w = reference(t, bytes, (r * perRow + k) * t.bytesPerBlock());
                for (int i = 0; i < w.length; i++) {
                    dot += w[i] * x[k * t.blockSize() + i];
                    mag += Math.abs(w[i] * x[k * t.blockSize() + i]);
                }
            }
            assertEquals(dot, y[r], 1e-5 * mag, t + " row " + r);
        }
    }

    @Test
    void rowsThatAreNotWholeBlocksAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> matrix(QuantType.Q4_K, new byte[144], 2, 128));
        assertTrue(e.getMessage().contains("q4_k rows must be whole blocks of 256"), e.getMessage());
    }

    @Test
    void bitsPerWeightAreTheRealBlockCosts() {
        // ggml-common.h's own figures: Q2_K 2.625, Q3_K 3.4375, Q4_K 4.5, Q5_K 5.5, Q6_K 6.5625, IQ4_XS 4.25.
        assertEquals(2.625, QuantType.Q2_K.bitsPerWeight());
        assertEquals(3.4375, QuantType.Q3_K.bitsPerWeight());
        assertEquals(4.5, QuantType.Q4_K.bitsPerWeight());
        assertEquals(5.5, QuantType.Q5_K.bitsPerWeight());
        assertEquals(6.5625, QuantType.Q6_K.bitsPerWeight());
        assertEquals(4.25, QuantType.IQ4_XS.bitsPerWeight());
        assertEquals(5.0, QuantType.Q4_1.bitsPerWeight());
        assertEquals(5.5, QuantType.Q5_0.bitsPerWeight());
        assertEquals(6.0, QuantType.Q5_1.bitsPerWeight());
        assertEquals(4.5, QuantType.IQ4_NL.bitsPerWeight());
    }
}

package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The 16-bit product kernels ({@link ByteRowKernels}) of int8 group codes, ggml Q8_0 and Q2_K–Q6_K, on every machine (32 rows
 * per block with AVX-512, 16 with AVX2): every product against float64 within the bound the input's rounding implies
 * and equal to the rule restated ({@link PackedReference#assertByteRowProduct}), over every zero kind and group size,
 * row counts that leave partial blocks, row ranges that split blocks, batches, and the extreme codes, scales, zeros and
 * sub-scales whose 16- and 32-bit sums come closest to overflowing.
 */
class ByteRowKernelsTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    @Test
    void int8EveryShapeAndZeroKindIsWithinTheInputBound() {
        for (int[] shape : new int[][] {{1, 64}, {17, 192}, {33, 320}, {70, 128}}) {
            int rows = shape[0], cols = shape[1];
            float[][] w = LutKernelsTest.gaussian(rows, cols, 11 + rows);
            for (GroupSpec spec : LutKernelsTest.specs(cols)) {
                WeightMatrix m = RtnQuantizer.quantize(RowSource.of(w), QuantType.INT8, spec);
                assertTrue(PackedReference.byteRows(m), "the 16-bit kernels take int8 " + spec);
                for (int n : new int[] {1, 3}) {
                    LutKernelsTest.check(m, LutKernelsTest.inputs(n, cols, rows + n), n, "int8 " + rows + "x" + cols + " " + spec);
                }
            }
        }
    }

    @Test
    void int8ExtremeCodesZerosScalesAndInputs() {
        int rows = 18, cols = 128;
        for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.asymmetric(32), GroupSpec.perTensor(cols, true)}) {
            // stored bytes of the codes −128 and 127 (u − 128), against zeros 255 and 0: |code − zero| up to 255
            for (int[] cz : new int[][] {{0x80, 0xFF}, {0x7F, 0x00}, {0x80, 0x00}, {0x7F, 0xFF}}) {
                for (float scale : new float[] {65504f, 6e-8f, -0.5f}) {
                    IntGroupMatrix m = LutKernelsTest.uniform(QuantType.INT8, rows, cols, spec, cz[0], cz[1], scale);
                    for (float big : new float[] {1f, 1e25f, -3e-38f}) {
                        float[] x = new float[2 * cols];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = big * ((i % 3 == 0) ? -1f : 1f) * (1 + (i % 5));
                        }
                        LutKernelsTest.check(m, x, 2, "int8 " + spec + " codes " + cz[0] + " zeros " + cz[1] + " scale " + scale + " x " + big);
                    }
                    // every input at the block's maximum, all of one sign: the largest 16-bit sums (8 products of 128·31)
                    float[] x = new float[cols];
                    java.util.Arrays.fill(x, -7f);
                    LutKernelsTest.check(m, x, 1, "int8 " + spec + " codes " + cz[0] + " zeros " + cz[1] + " scale " + scale + " x all -7");
                }
            }
        }
    }

    @Test
    void int4ExtremeCodesZerosScalesAndInputs() {
        int rows = 2 * ByteRows.QUAD_ROWS + 3, cols = 256;
        for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.asymmetric(128), GroupSpec.perChannel(cols, true),
                GroupSpec.perTensor(cols, true)}) {
            assertTrue(PackedReference.byteRows(LutKernelsTest.uniform(QuantType.INT4, 1, cols, spec, 0, 0, 1f)), "the 16-bit products take int4 " + spec);
            // bytes of codes 0 and 15 against zeros 15 and 0 (and alternating): |code − zero| up to 15; the 16-bit lanes
            // hold Σ (code − 8)·v, at most 4·8·1023
            for (int[] cz : new int[][] {{0x00, 0xFF}, {0xFF, 0x00}, {0x00, 0x00}, {0xFF, 0xFF}, {0x0F, 0xF0}}) {
                for (float scale : new float[] {65504f, 6e-8f, -0.5f}) {
                    IntGroupMatrix m = LutKernelsTest.uniform(QuantType.INT4, rows, cols, spec, cz[0], cz[1], scale);
                    for (float big : new float[] {1f, 1e25f, -3e-38f}) {
                        float[] x = new float[2 * cols];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = big * ((i % 3 == 0) ? -1f : 1f) * (1 + (i % 5));
                        }
                        LutKernelsTest.check(m, x, 2, "int4 " + spec + " codes " + cz[0] + " zeros " + cz[1] + " scale " + scale + " x " + big);
                    }
                    for (float all : new float[] {-7f, 7f}) { // every input at the block's maximum, all of one sign: the largest 16-bit sums
                        float[] x = new float[cols];
                        java.util.Arrays.fill(x, all);
                        LutKernelsTest.check(m, x, 1, "int4 " + spec + " codes " + cz[0] + " zeros " + cz[1] + " scale " + scale + " x all " + all);
                    }
                }
            }
        }
    }

    @Test
    void rowRangesThatSplitBlocksWriteOnlyTheirRows() {
        int rows = 3 * ByteRows.ROWS + 5, cols = 96;
        WeightMatrix m = RtnQuantizer.quantize(RowSource.of(LutKernelsTest.gaussian(rows, cols, 5)), QuantType.INT8, GroupSpec.symmetric(32));
        float[] x = LutKernelsTest.inputs(2, cols, 9);
        for (int[] range : new int[][] {{1, rows}, {ByteRows.ROWS / 2, ByteRows.ROWS + 3}, {rows - 1, rows}}) {
            float[] y = new float[2 * rows];
            java.util.Arrays.fill(y, Float.NaN);
            m.matmul(x, y, 2, range[0], range[1]);
            for (int b = 0; b < 2; b++) {
                for (int r = 0; r < rows; r++) {
                    boolean in = r >= range[0] && r < range[1];
                    assertEquals(!in, Float.isNaN(y[b * rows + r]), "rows " + range[0] + ".." + range[1] + ": row " + r + " of input " + b);
                }
                PackedReference.assertByteRowProduct(m, x, b * cols, y, b * rows, range[0], range[1], "rows " + range[0] + ".." + range[1] + " input " + b);
            }
        }
    }

    @Test
    void theCopyHoldsTheSignedCodesInRowBlocks() {
        int rows = ByteRows.ROWS + 3, cols = 64;
        IntGroupMatrix m = (IntGroupMatrix) RtnQuantizer.quantize(RowSource.of(LutKernelsTest.gaussian(rows, cols, 3)), QuantType.INT8, GroupSpec.asymmetric(32));
        int[] u = new int[cols];
        ByteRows copy = ByteRows.ofGroups(rows, cols, 32, true, (r, c, s, z) -> {
            m.codes(r, u);
            for (int i = 0; i < cols; i++) {
                c[i] = (byte) (u[i] - 128);
            }
        });
        for (int r = 0; r < rows; r++) {
            m.codes(r, u);
            for (int c = 0; c < cols; c++) {
                assertEquals(u[c] - 128, copy.code(r, c), "code (" + r + ", " + c + ")");
            }
        }
    }

    /** Q6_K, Q5_K, Q4_K, Q3_K and Q2_K: random super-blocks with d (and dmin) over 1 and 20 binades, several shapes, batches, 1 and 2 threads. */
    @Test
    void kQuantSuperBlocksAreWithinTheInputBound() {
        for (QuantType type : new QuantType[] {QuantType.Q6_K, QuantType.Q5_K, QuantType.Q4_K, QuantType.Q3_K, QuantType.Q2_K}) {
            for (int[] shape : new int[][] {{1, 256}, {17, 512}, {40, 768}}) {
                int rows = shape[0], cols = shape[1];
                for (double span : new double[] {1, 20}) {
                    WeightMatrix m = Matrices.of(type, LutKernelsTest.kQuantRows(type, rows, cols, span, rows), rows, cols, Layout.OUT_IN);
                    LutKernelsTest.eachProduct(m, (x, y, n, b, what) ->
                            PackedReference.assertByteRowProduct(m, x, b * cols, y, b * rows, 0, rows, type + " " + what + " span " + span));
                }
            }
        }
    }

    /**
     * Rows read from the byte-row copies once they are made (a tied embedding's lookups) are bit for bit the stored rows:
     * Q6_K, Q8_0, Q4_0 (random blocks, Q6_K's d over 20 binades) and the engine's int8 and int4 (symmetric and
     * asymmetric, groups of 64 and 128), rows past a block of 16 or 32 included.
     */
    @Test
    void rowsFromTheCopyAreTheStoredRows() {
        java.util.Random rnd = new java.util.Random(23);
        for (QuantType type : new QuantType[] {QuantType.Q6_K, QuantType.Q8_0, QuantType.Q4_0, QuantType.INT8, QuantType.INT4})
        for (GroupSpec spec : type == QuantType.INT8 || type == QuantType.INT4
                ? new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.asymmetric(128)} : new GroupSpec[] {null})
        for (int[] shape : new int[][] {{1, 256}, {17, 512}, {40, 768}}) {
            int rows = shape[0], cols = shape[1];
            MemorySegment seg = null;
            WeightMatrix own = spec == null ? null : RtnQuantizer.quantize(RowSource.of(LutKernelsTest.gaussian(rows, cols, 7)), type, spec);
            if (own != null) {
                // the engine's int8 (g32k) and int4 (g64k) files: byte rows
            } else if (type == QuantType.Q6_K) {
                seg = LutKernelsTest.kQuantRows(QuantType.Q6_K, rows, cols, 20, rows);
            } else { // random codes, fp16 scales over several binades
                byte[] raw = new byte[rows * cols / 32 * type.bytesPerBlock()];
                rnd.nextBytes(raw);
                for (int o = 0; o < raw.length; o += type.bytesPerBlock()) {
                    short h = Float.floatToFloat16((float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(20) - 10)));
                    raw[o] = (byte) h;
                    raw[o + 1] = (byte) (h >> 8);
                }
                seg = Arena.ofAuto().allocate(raw.length).copyFrom(MemorySegment.ofArray(raw));
            }
            WeightMatrix m = own != null ? own : Matrices.of(type, seg, rows, cols, Layout.OUT_IN);
            float[][] before = new float[rows][cols];
            for (int r = 0; r < rows; r++) {
                m.dequantizeRow(r, before[r], 0);
            }
            m.matvec(new float[cols], new float[rows], 0, rows); // makes the copy
            float[] row = new float[cols + 3];
            for (int r = 0; r < rows; r++) {
                m.dequantizeRow(r, row, 3);
                for (int c = 0; c < cols; c++) {
                    assertEquals(Float.floatToRawIntBits(before[r][c]), Float.floatToRawIntBits(row[3 + c]),
                            type + " " + spec + " " + rows + "x" + cols + " (" + r + ", " + c + "): file " + before[r][c] + ", copy " + row[3 + c]);
                }
            }
        }
    }

    /** Every row of {@code m} (all its blocks alike) times an input of one value, at −3 and at 1e25, against the rule. */
    private static void assertConstantInputs(WeightMatrix m, String what) {
        for (float v : new float[] {-3f, 1e25f}) {
            float[] x = new float[m.cols()];
            java.util.Arrays.fill(x, v);
            float[] y = new float[m.rows()];
            m.matvec(x, y, 0, m.rows());
            PackedReference.assertByteRowProduct(m, x, 0, y, 0, 0, m.rows(), what + " x " + v);
        }
    }

    /**
     * Q6_K's largest sums: every code −32 or 31 (stored as 0 or 63) and every sub-scale −128, inputs all at their block's
     * maximum: a sub-block's 16-bit sums reach 16·63·31 and its scaled 32-bit sum 16·63·1984·128 per half block.
     */
    @Test
    void q6_KExtremeCodesAndSubScales() {
        int rows = 5, cols = 512;
        for (int qh : new int[] {0x00, 0xFF}) { // codes −32, or 31 where ql's nibbles are 15
            for (int ql : new int[] {0x00, 0xFF}) {
                byte[] block = new byte[210];
                java.util.Arrays.fill(block, 0, 128, (byte) ql);
                java.util.Arrays.fill(block, 128, 192, (byte) qh);
                java.util.Arrays.fill(block, 192, 208, (byte) 0x80);
                MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / 256 * 210]);
                for (long o = 0; o < seg.byteSize(); o += 210) {
                    MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_BYTE, o, 210);
                    seg.set(F16, o + 208, Float.floatToFloat16(65504f));
                }
                assertConstantInputs(Matrices.of(QuantType.Q6_K, seg, rows, cols, Layout.OUT_IN), "Q6_K ql " + ql + " qh " + qh);
            }
        }
    }

    /**
     * Q2_K's largest sums: every code 3 (or 0, or alternating), scales and minimums 15, d and dmin ±65504, inputs at their
     * maximum: a sub-block's 16-bit sums reach 16·3·255.
     */
    @Test
    void q2_KExtremeCodesScalesAndMinimums() {
        int rows = 5, cols = 512;
        for (int qs : new int[] {0x00, 0xFF, 0x33}) {
            for (float dmin : new float[] {65504f, -65504f}) {
                byte[] block = new byte[84];
                java.util.Arrays.fill(block, 0, 16, (byte) 0xFF); // every scale and minimum 15
                java.util.Arrays.fill(block, 16, 80, (byte) qs);
                MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / 256 * 84]);
                for (long o = 0; o < seg.byteSize(); o += 84) {
                    MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_BYTE, o, 84);
                    seg.set(F16, o + 80, Float.floatToFloat16(-65504f));
                    seg.set(F16, o + 82, Float.floatToFloat16(dmin));
                }
                WeightMatrix m = Matrices.of(QuantType.Q2_K, seg, rows, cols, Layout.OUT_IN);
                assertConstantInputs(m, "Q2_K qs " + qs + " dmin " + dmin);
                float[] w = new float[cols];
                m.dequantizeRow(0, w, 0);
                for (int c = 0; c < cols; c++) {
                    int code = qs >> (2 * (c % 128 / 32)) & 3;
                    assertEquals(-65504f * 15 * code - dmin * 15, w[c], 1e-3 * Math.abs(w[c]), "the weights decode to their extreme codes, column " + c);
                }
            }
        }
    }

    /**
     * Q3_K's largest sums: every code −4 (or 3, or alternating through the high-bit mask), every sub-scale −32 or 31,
     * d ±65504, inputs at their maximum: a sub-block's 16-bit sums reach 16·4·255.
     */
    @Test
    void q3_KExtremeCodesAndSubScales() {
        int rows = 5, cols = 512;
        for (int[] bits : new int[][] {{0x00, 0x00}, {0xFF, 0xFF}, {0xFF, 0x55}}) { // 2-bit codes, high-bit mask
            for (int scales : new int[] {0x00, 0xFF}) { // sub-scales −32 or 31
                byte[] block = new byte[110];
                java.util.Arrays.fill(block, 0, 32, (byte) bits[1]);
                java.util.Arrays.fill(block, 32, 96, (byte) bits[0]);
                java.util.Arrays.fill(block, 96, 108, (byte) scales);
                MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / 256 * 110]);
                for (long o = 0; o < seg.byteSize(); o += 110) {
                    MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_BYTE, o, 110);
                    seg.set(F16, o + 108, Float.floatToFloat16(scales == 0 ? 65504f : -65504f));
                }
                WeightMatrix m = Matrices.of(QuantType.Q3_K, seg, rows, cols, Layout.OUT_IN);
                assertConstantInputs(m, "Q3_K qs " + bits[0] + " hmask " + bits[1] + " scales " + scales);
                float[] w = new float[cols];
                m.dequantizeRow(0, w, 0);
                for (int c = 0; c < cols; c++) {
                    int n = c % 256 / 128, j = c % 128 / 32, l = c % 32;
                    int code = (bits[0] == 0 ? 0 : 3) - ((bits[1] >> (4 * n + j) & 1) == 1 ? 0 : 4);
                    float d = scales == 0 ? 65504f : -65504f;
                    assertEquals(d * (scales == 0 ? -32 : 31) * code, w[c], 1e-3 * Math.abs(w[c]) + 1e-3, "the weights decode to their extreme codes, column " + c + " l " + l);
                }
            }
        }
    }

    /**
     * Q5_K's largest sums: codes 31 (or 0, or alternating 31 and 0 through the high bits), scales and minimums 63, d and
     * dmin ±65504, inputs at their maximum: a 32-column step's integer sum reaches 32·31·255·63.
     */
    @Test
    void q5_KExtremeCodesScalesAndMinimums() {
        int rows = 5, cols = 512;
        for (int[] bits : new int[][] {{0x00, 0x00}, {0xFF, 0xFF}, {0xFF, 0x55}}) { // nibbles, high bits
            for (float dmin : new float[] {65504f, -65504f}) {
                byte[] block = new byte[176];
                java.util.Arrays.fill(block, 4, 16, (byte) 0xFF); // every 6-bit scale and minimum 63
                java.util.Arrays.fill(block, 16, 48, (byte) bits[1]);
                java.util.Arrays.fill(block, 48, 176, (byte) bits[0]);
                MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / 256 * 176]);
                for (long o = 0; o < seg.byteSize(); o += 176) {
                    MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_BYTE, o, 176);
                    seg.set(F16, o, Float.floatToFloat16(-65504f));
                    seg.set(F16, o + 2, Float.floatToFloat16(dmin));
                }
                WeightMatrix m = Matrices.of(QuantType.Q5_K, seg, rows, cols, Layout.OUT_IN);
                assertConstantInputs(m, "Q5_K qs " + bits[0] + " qh " + bits[1] + " dmin " + dmin);
                float[] w = new float[cols];
                m.dequantizeRow(0, w, 0);
                for (int c = 0; c < cols; c++) {
                    int code = bits[0] == 0 ? 0 : 15 + 16 * (bits[1] >> (2 * ((c % 256) / 64) + (c % 64) / 32) & 1);
                    assertEquals(-65504f * 63 * code - dmin * 63, w[c], 1e-3 * Math.abs(w[c]), "the weights decode to their extreme codes, column " + c);
                }
            }
        }
    }

    /**
     * Q4_K's largest sums: codes 15 (or 0), scales and minimums 63, d and dmin 65504 (or −65504), inputs at their maximum:
     * a half sub-block's 16-bit sums reach 16·15·127.
     */
    @Test
    void q4_KExtremeCodesScalesAndMinimums() {
        int rows = 5, cols = 512;
        for (int qs : new int[] {0x00, 0xFF}) {
            for (float dmin : new float[] {65504f, -65504f}) {
                byte[] block = new byte[144];
                java.util.Arrays.fill(block, 4, 16, (byte) 0xFF); // every 6-bit scale and minimum 63
                java.util.Arrays.fill(block, 16, 144, (byte) qs);
                MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / 256 * 144]);
                for (long o = 0; o < seg.byteSize(); o += 144) {
                    MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_BYTE, o, 144);
                    seg.set(F16, o, Float.floatToFloat16(65504f));
                    seg.set(F16, o + 2, Float.floatToFloat16(dmin));
                }
                assertConstantInputs(Matrices.of(QuantType.Q4_K, seg, rows, cols, Layout.OUT_IN), "Q4_K qs " + qs + " dmin " + dmin);
            }
        }
    }

    /**
     * ggml's Q4_0 (nibbles, an fp16 scale per 32, zero 8) on 8-bit inputs: random blocks and blocks of the codes 0 and 15
     * with scales from subnormal to 65504, within the input's bound; and a row's product does not depend on where the row
     * sits (rows permuted as GGUF export permutes q and k give the same products, permuted).
     */
    @Test
    void q4_0BlocksAreWithinTheInputBound() {
        for (int[] shape : new int[][] {{1, 64}, {17, 192}, {40, 320}, {33, 96}}) {
            int rows = shape[0], cols = shape[1];
            byte[] bytes = LutKernelsTest.q4_0Rows(rows, cols, rows);
            WeightMatrix m = Matrices.of(QuantType.Q4_0, MemorySegment.ofArray(bytes), rows, cols, Layout.OUT_IN);
            LutKernelsTest.eachProduct(m, (x, y, n, b, what) ->
                    PackedReference.assertByteRowProduct(m, x, b * cols, y, b * rows, 0, rows, "Q4_0 " + rows + "x" + cols + " " + what));
            int rowBytes = cols / 32 * 18;
            byte[] reversed = new byte[bytes.length];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(bytes, r * rowBytes, reversed, (rows - 1 - r) * rowBytes, rowBytes);
            }
            float[] x = new float[cols], y = new float[rows], yr = new float[rows];
            Random rnd = new Random(99);
            for (int c = 0; c < cols; c++) {
                x[c] = (float) rnd.nextGaussian();
            }
            ParallelProducts.matmul(m, x, y, 1);
            ParallelProducts.matmul(Matrices.of(QuantType.Q4_0, MemorySegment.ofArray(reversed), rows, cols, Layout.OUT_IN), x, yr, 1);
            for (int r = 0; r < rows; r++) {
                assertEquals(Float.floatToIntBits(y[r]), Float.floatToIntBits(yr[rows - 1 - r]), "row " + r + " moved to " + (rows - 1 - r));
            }
        }
    }

    /**
     * Q8_0 blocks of the codes −128 and 127 with fp16 scales from the smallest subnormal to 65504; 96 columns keep the
     * groups of 32 one by one, 128 put them in runs of two ({@link ByteRows#groupRun}).
     */
    @Test
    void q8_0ExtremeBlocks() {
        Random rnd = new Random(8);
        int rows = 37;
        for (int cols : new int[] {96, 128})
        for (float d : new float[] {6e-8f, 1f, 65504f}) {
            MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / 32 * 34]);
            for (long o = 0; o < seg.byteSize(); o += 34) {
                seg.set(F16, o, Float.floatToFloat16(rnd.nextBoolean() ? d : -d));
                for (int i = 0; i < 32; i++) {
                    seg.set(ValueLayout.JAVA_BYTE, o + 2 + i, (byte) (rnd.nextBoolean() ? -128 : 127));
                }
            }
            WeightMatrix m = Matrices.of(QuantType.Q8_0, seg, rows, cols, Layout.OUT_IN);
            LutKernelsTest.eachProduct(m, (x, y, n, b, what) ->
                    PackedReference.assertByteRowProduct(m, x, b * cols, y, b * rows, 0, rows, "Q8_0 " + cols + " columns, d " + d + " " + what));
        }
    }
}

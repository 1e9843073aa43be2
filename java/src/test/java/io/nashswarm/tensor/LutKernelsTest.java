package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The table-lookup kernels ({@link LutKernels}, {@link LutInput}, {@link BitPlanes}, {@link PlaneRows}) against float64:
 * every product within the bound the tables imply (12-bit, or byte tables for int2 in groups of 64k) ({@link PackedReference#assertLookupProduct}, which also
 * checks the kernels' integer arithmetic against the table rule restated), for 2- and 4-bit codes (8-bit ones take
 * the 16-bit products: ByteRowKernelsTest), every zero kind (symmetric, asymmetric with zeros 0 and all-ones, per
 * channel, per tensor, groups of 32 and 64), extreme codes,
 * extreme and non-finite inputs, odd shapes (row counts that are not multiples of the 16-row blocks, rows
 * of 1, 3 and 5 chunks), row ranges that split blocks, and batches across input tiles.
 */
class LutKernelsTest {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final QuantType[] TYPES = {QuantType.INT2, QuantType.INT4}; // int8: ByteRowKernelsTest
    private final int savedThreads = Parallel.threads();

    @BeforeAll
    static void needs512BitVectors() {
        Assumptions.assumeTrue(LutKernels.NATIVE, "skipped: no 512-bit vectors here, so the lookup kernels are not used "
                + "(int4/int2 run on IntKernels, tested by IntKernelsTest and PackedMatrixTest)");
    }

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    static GroupSpec[] specs(int cols) {
        return new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.symmetric(32), GroupSpec.asymmetric(32), GroupSpec.perChannel(cols, false),
                GroupSpec.perChannel(cols, true), GroupSpec.perTensor(cols, false), GroupSpec.perTensor(cols, true)};
    }

    static float[][] gaussian(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (rnd.nextGaussian() * (1 + (c % 7 == 0 ? 5 : 0)));
            }
        }
        return w;
    }

    /** Inputs whose chunks span 10^-30 .. 10^30, with a zero chunk, an outlier and subnormals. */
    static float[] inputs(int n, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            int chunk = i / 64;
            double scale = switch (chunk % 5) {
                case 0 -> 1;
                case 1 -> 1e-30;
                case 2 -> 1e30;
                case 3 -> 0;
                default -> 1e-41; // subnormal: 127/max overflows a float
            };
            x[i] = (float) (rnd.nextGaussian() * scale);
        }
        x[cols / 2] = 1e4f; // one outlier among ordinary values
        return x;
    }

    static void check(WeightMatrix m, float[] x, int n, String what) {
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            float[] y = new float[n * m.rows()];
            ParallelProducts.matmul(m, x, y, n);
            PackedReference.assertProduct(m, x, y, n, what + " threads " + threads + " n " + n);
        }
    }

    @Test
    void planeRowsHoldEveryCodeScaleAndZeroWhereTheKernelReadsThem() {
        int rows = 130, cols = 192, group = 64;
        Random rnd = new Random(5);
        byte[][] u = new byte[rows][cols], z = new byte[rows][cols / group];
        short[][] s = new short[rows][cols / group];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                u[r][c] = (byte) rnd.nextInt(4);
            }
            for (int gi = 0; gi < cols / group; gi++) {
                z[r][gi] = (byte) rnd.nextInt(4);
                s[r][gi] = Float.floatToFloat16(r + gi / 8f);
            }
        }
        PlaneRows p = PlaneRows.of(rows, cols, group, true, (r, c, sc, ze) -> {
            System.arraycopy(u[r], 0, c, 0, cols);
            System.arraycopy(s[r], 0, sc, 0, sc.length);
            System.arraycopy(z[r], 0, ze, 0, ze.length);
        });
        assertEquals(3L * 3 * PlaneRows.groupBytes(group, true), p.bytes(), "three blocks of 64 rows, three groups each");
        for (int r = 0; r < 3 * PlaneRows.ROWS; r++) {
            int rb = r / PlaneRows.ROWS, i = r % PlaneRows.ROWS, lane = 4 * (i % 16) + i / 16;
            assertEquals(i, PlaneRows.row(lane), "byte lane of row " + i);
            for (int c = 0; c < cols; c++) {
                assertEquals(r < rows ? u[r][c] : 0, p.code(r, c), "code (" + r + ", " + c + ")");
            }
            for (int gi = 0; gi < cols / group; gi++) { // the kernel reads a group's scales, then zeros, in row order
                long at = rb * p.blockBytes + (gi + 1) * PlaneRows.groupBytes(group, true) - 3L * PlaneRows.ROWS;
                assertEquals(r < rows ? s[r][gi] : 0, p.data.get(F16, at + 2L * i), "scale (" + r + ", " + gi + ")");
                assertEquals(r < rows ? z[r][gi] : 0, p.data.get(ValueLayout.JAVA_BYTE, at + 2L * PlaneRows.ROWS + i), "zero (" + r + ", " + gi + ")");
            }
        }
    }

    @Test
    void everyWidthShapeAndZeroKindIsWithinTheTableBound() {
        int[][] shapes = {{1, 64}, {17, 192}, {40, 320}, {130, 128}, {17, 4224}}; // 4224: groups of 32 over three column panels
        for (QuantType type : TYPES) {
            for (int[] shape : shapes) {
                int rows = shape[0], cols = shape[1];
                float[][] w = gaussian(rows, cols, 11 + rows);
                for (GroupSpec spec : specs(cols)) {
                    WeightMatrix m = RtnQuantizer.quantize(RowSource.of(w), type, spec);
                    // int4 in groups of 64k takes the 16-bit products (ByteRowKernelsTest); check still holds it to their rule
                    assertEquals(type == QuantType.INT2 || spec.groupSize() == 32, PackedReference.lookup(m), "the lookup kernels take " + type + " " + spec);
                    for (int n : new int[] {1, 3}) {
                        check(m, inputs(n, cols, rows + n), n, type + " " + rows + "x" + cols + " " + spec);
                    }
                }
                if (cols % 128 == 0) {
                    WeightMatrix m = RtnQuantizer.quantize(RowSource.of(w), type, GroupSpec.asymmetric(128));
                    check(m, inputs(2, cols, 5), 2, type + " g128 asym");
                }
            }
        }
    }

    /** Widths per (row, group): per 16-row tile (as the allocators choose), or per row (older files: tiles run at their widest row). */
    private static byte[] widths(int rows, int groups, boolean perTile, long seed) {
        Random rnd = new Random(seed);
        byte[] tile = new byte[(rows + 15) / 16 * groups], w = new byte[rows * groups];
        for (int i = 0; i < tile.length; i++) {
            tile[i] = (byte) (2 << rnd.nextInt(3));
        }
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < groups; gi++) {
                w[r * groups + gi] = perTile ? tile[r / 16 * groups + gi] : (byte) (2 << rnd.nextInt(3));
            }
        }
        return w;
    }

    @Test
    void mixedWidthsRunPerTileWithinTheTableBound() {
        // 17 x 4224: 66 chunks, three column panels (MixedPlanes.PANEL_CHUNKS), the last of two chunks
        int[][] shapes = {{1, 64}, {17, 192}, {40, 320}, {33, 256}, {17, 4224}};
        for (int[] shape : shapes) {
            int rows = shape[0], cols = shape[1];
            float[][] w = gaussian(rows, cols, 7 + rows);
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.asymmetric(cols), GroupSpec.symmetric(128)}) {
                if (cols % spec.groupSize() != 0 || (spec.groupSize() != cols && Integer.bitCount(spec.groupSize() / 64) != 1)) {
                    continue;
                }
                int groups = cols / spec.groupSize();
                for (boolean perTile : new boolean[] {true, false}) {
                    byte[] widths = widths(rows, groups, perTile, rows + cols);
                    long[] outliers = rows > 1 ? new long[] {3, (long) (rows - 1) * cols + 5} : null;
                    WeightMatrix m = io.nashswarm.quant.MixedQuantizer.quantize(RowSource.of(w), spec, widths, outliers,
                            io.nashswarm.quant.GroupQuantizer.ScaleRule.MINMAX, Arena.ofAuto());
                    assertTrue(PackedReference.lookup(m), "the lookup kernels take mixed " + spec);
                    for (int n : new int[] {1, 3}) {
                        check(m, inputs(n, cols, rows + n), n, "mixed " + (perTile ? "per tile " : "per row ") + rows + "x" + cols + " " + spec);
                    }
                }
            }
        }
    }

    @Test
    void mixedWidthsPerColumnRunAsUniformPartsWithinTheirBounds() {
        // rows: one, a partial 16-row block, a partial 64-row block (byte tables), 130; 4224 columns: 66 chunks
        int[][] shapes = {{1, 192}, {17, 320}, {70, 256}, {130, 4224}};
        for (int[] shape : shapes) {
            int rows = shape[0], cols = shape[1];
            float[][] w = gaussian(rows, cols, 11 + rows);
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.symmetric(128)}) {
                if (cols % spec.groupSize() != 0) {
                    continue;
                }
                int groups = cols / spec.groupSize();
                for (int[] allowed : new int[][] {{2, 4, 8}, {4, 8}, {2}}) {
                    Random rnd = new Random(rows + cols + allowed.length);
                    byte[] column = new byte[groups], widths = new byte[rows * groups];
                    for (int gi = 0; gi < groups; gi++) {
                        column[gi] = (byte) allowed[gi < allowed.length ? gi : rnd.nextInt(allowed.length)]; // each allowed width once
                    }
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(column, 0, widths, r * groups, groups);
                    }
                    long[] outliers = rows > 1 ? new long[] {3, (long) (rows - 1) * cols + 5} : null;
                    WeightMatrix m = io.nashswarm.quant.MixedQuantizer.quantize(RowSource.of(w), spec, widths, outliers,
                            io.nashswarm.quant.GroupQuantizer.ScaleRule.MINMAX, Arena.ofAuto());
                    boolean two = allowed[0] == 2 && groups > 0;
                    assertEquals(LutKernels.NATIVE || !two, PackedReference.columnParts(m), "uniform parts for " + java.util.Arrays.toString(allowed));
                    for (int n : new int[] {1, 3}) {
                        check(m, inputs(n, cols, rows + n), n, "mixed per column " + java.util.Arrays.toString(allowed) + " " + rows + "x" + cols + " " + spec);
                    }
                }
            }
        }
    }

    /** A thread's kept input lends its arrays to narrower inputs of its kind (ThreadInputs): wide, narrow, wide again. */
    @Test
    void narrowerInputsReuseAWiderInputsArrays() {
        for (QuantType type : new QuantType[] {QuantType.INT4, QuantType.INT2, QuantType.INT8}) {
            int seed = 0;
            for (int cols : new int[] {4224, 192, 4224, 64, 320}) {
                WeightMatrix m = RtnQuantizer.quantize(RowSource.of(gaussian(9, cols, cols)), type, GroupSpec.symmetric(64));
                float[] x = inputs(1, cols, ++seed);
                Parallel.setThreads(1);
                float[] y = new float[m.rows()];
                ParallelProducts.matmul(m, x, y, 1);
                PackedReference.assertProduct(m, x, y, 1, type + " " + cols + " columns after wider inputs");
            }
        }
    }

    @Test
    void mixedExtremeCodesEveryWidth() {
        int rows = 18, cols = 192;
        float[][] w = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w[r][c] = (c + r) % 2 == 0 ? 65504f / 256 * 127 : -65504f / 256 * 128; // codes at both ends of every width
            }
        }
        for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64)}) {
            for (int perColumn = 0; perColumn < 2; perColumn++) { // per tile (MixedPlanes), then per column (MixedColumns)
                byte[] widths = new byte[rows * 3];
                for (int r = 0; r < rows; r++) {
                    for (int gi = 0; gi < 3; gi++) {
                        widths[r * 3 + gi] = (byte) (8 >> ((gi + (1 - perColumn) * r / 16) % 3)); // each tile width, and a partial last block
                    }
                }
                WeightMatrix m = io.nashswarm.quant.MixedQuantizer.quantize(RowSource.of(w), spec, widths);
                assertEquals(perColumn == 1 && LutKernels.NATIVE, PackedReference.columnParts(m));
                for (float big : new float[] {1f, 1e20f, -3e-38f}) {
                    float[] x = new float[2 * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = big * ((i % 3 == 0) ? -1f : 1f) * (1 + (i % 5));
                    }
                    check(m, x, 2, "mixed extremes " + (perColumn == 1 ? "per column " : "per tile ") + spec + " x " + big);
                }
            }
        }
    }

    private static MemorySegment filled(long bytes, int value) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, bytes));
        s.fill((byte) value);
        return s.asSlice(0, bytes);
    }

    /** Codes all equal to the stored byte {@code codeByte}, zeros all {@code zeroByte}, scales {@code scale}. */
    static IntGroupMatrix uniform(QuantType type, int rows, int cols, GroupSpec spec, int codeByte, int zeroByte, float scale) {
        Map<String, MemorySegment> sections = new HashMap<>();
        for (Section s : type.sections(rows, cols, spec)) {
            MemorySegment seg = switch (s.name()) {
                case Section.CODES -> filled(s.bytes(), codeByte);
                case Section.SCALES -> {
                    MemorySegment sc = Arena.ofAuto().allocate(s.bytes());
                    for (long i = 0; i < s.bytes() / 2; i++) {
                        sc.set(F16, 2 * i, Float.floatToFloat16(scale));
                    }
                    yield sc;
                }
                default -> filled(s.bytes(), zeroByte);
            };
            sections.put(s.name(), seg);
        }
        return IntGroupMatrix.fromSections(type, rows, cols, spec, sections);
    }

    @Test
    void extremeCodesZerosScalesAndInputs() {
        int rows = 18, cols = 128;
        for (QuantType type : TYPES) {
            // stored bytes of the smallest and largest codes (8-bit codes are stored as u − 128)
            int low = type == QuantType.INT8 ? 0x80 : 0x00, high = type == QuantType.INT8 ? 0x7F : 0xFF;
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.perTensor(cols, true)}) {
                for (int[] cz : new int[][] {{low, 0xFF}, {high, 0x00}, {low, 0x00}, {high, 0xFF}}) {
                    for (float scale : new float[] {65504f, 6e-8f, -0.5f}) { // fp16 max, smallest subnormal, negative
                        IntGroupMatrix m = uniform(type, rows, cols, spec, cz[0], cz[1], scale);
                        for (float big : new float[] {1f, 1e25f, -3e-38f}) { // 1e25·65504·255·256 still fits a float
                            float[] x = new float[2 * cols];
                            for (int i = 0; i < x.length; i++) {
                                x[i] = big * ((i % 3 == 0) ? -1f : 1f) * (1 + (i % 5));
                            }
                            check(m, x, 2, type + " " + spec + " codes " + cz[0] + " zeros " + cz[1] + " scale " + scale + " x " + big);
                        }
                    }
                }
            }
        }
    }

    @Test
    void nonFiniteInputsGiveNonFiniteProducts() {
        for (QuantType type : TYPES) {
            WeightMatrix m = RtnQuantizer.quantize(RowSource.of(gaussian(16, 128, 3)), type, GroupSpec.symmetric(64));
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                float[] x = new float[128];
                java.util.Arrays.fill(x, 0.5f);
                x[70] = bad;
                float[] y = new float[16];
                m.matvec(x, y, 0, 16);
                for (float v : y) {
                    assertFalse(Float.isFinite(v), type + " with input " + bad + " gave " + v);
                }
            }
        }
    }

    @Test
    void rowRangesThatSplitBlocksWriteOnlyTheirRows() {
        int rows = 40, cols = 192, n = 2;
        for (QuantType type : TYPES) {
            IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(gaussian(rows, cols, 9)), type, GroupSpec.asymmetric(64));
            float[] x = inputs(n, cols, 1);
            float[] all = new float[n * rows];
            m.matmul(x, all, n, 0, rows);
            for (int[] range : new int[][] {{5, 21}, {16, 17}, {33, 40}, {0, 3}}) {
                float[] y = new float[n * rows];
                java.util.Arrays.fill(y, -7f);
                m.matmul(x, y, n, range[0], range[1]);
                float[] v = new float[rows];
                java.util.Arrays.fill(v, -7f);
                m.matvec(x, v, range[0], range[1]);
                for (int b = 0; b < n; b++) {
                    for (int r = 0; r < rows; r++) {
                        boolean in = r >= range[0] && r < range[1];
                        assertEquals(in ? all[b * rows + r] : -7f, y[b * rows + r], type + " rows " + range[0] + ".." + range[1] + " row " + r);
                        if (b == 0) {
                            assertEquals(in ? all[r] : -7f, v[r], type + " matvec rows " + range[0] + ".." + range[1] + " row " + r);
                        }
                    }
                }
            }
        }
    }

    @Test
    void batchesLargerThanATileMatchOneByOne() {
        int rows = 24, cols = 4096, n = LutKernels.tile(cols, 1000) + 3;
        assertTrue(n < 40, "tile " + (n - 3));
        for (QuantType type : TYPES) {
            IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(gaussian(rows, cols, 5)), type, GroupSpec.symmetric(64));
            float[] x = inputs(n, cols, 8);
            float[] y = new float[n * rows];
            m.matmul(x, y, n, 0, rows);
            for (int b = 0; b < n; b++) {
                float[] one = new float[rows];
                m.matvec(java.util.Arrays.copyOfRange(x, b * cols, (b + 1) * cols), one, 0, rows);
                for (int r = 0; r < rows; r++) {
                    assertEquals(one[r], y[b * rows + r], type + " input " + b + " row " + r);
                }
            }
        }
    }

    @Test
    void bitPlanesHoldEveryCodeAndNothingMore() {
        for (QuantType type : TYPES) {
            int rows = 21, cols = 192;
            IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(gaussian(rows, cols, 4)), type, GroupSpec.asymmetric(64));
            BitPlanes p = BitPlanes.of(m, cols / 64, 0, 1, null, null, false);
            assertEquals(2L * 16 * cols * type.codeBits() / 8, p.codes.byteSize(), "two blocks of 16 rows, the stored code size each");
            for (int r = 0; r < 32; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(r < rows ? m.code(r, c) : 0, p.code(r, c), type + " code (" + r + ", " + c + ")");
                }
            }
        }
    }

    @Test
    void tablesAreTheSignedSumsWithinHalfAStep() {
        Random rnd = new Random(2);
        int cols = 192;
        float[] x = new float[cols + 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(7) - 3));
        }
        java.util.Arrays.fill(x, 5 + 64, 5 + 128, 0f);
        LutInput in = LutInput.of(x, 5, cols);
        for (int c = 0; c < cols / 64; c++) {
            double t = 2.0 * in.half[c], sum = 0;
            for (int a = 0; a < 16; a++) {
                for (int idx = 0; idx < 16; idx++) {
                    double exact = 0;
                    for (int j = 0; j < 4; j++) {
                        float v = x[5 + 64 * c + 4 * a + j];
                        exact += ((idx >> j) & 1) != 0 ? v : -v;
                    }
                    int q = in.entry(16 * c + a, idx);
                    assertEquals(-q, in.entry(16 * c + a, 15 - idx), "T[15 - idx] = -T[idx]");
                    assertTrue(Math.abs(q) <= LutInput.QMAX);
                    assertTrue(Math.abs(exact - t * q) <= t / 2 * (1 + 1e-5) + 1e-30, "chunk " + c + " group " + a + " entry " + idx);
                }
            }
            for (int i = 0; i < 64; i++) {
                sum += x[5 + 64 * c + i];
            }
            assertEquals(sum, in.sum[c], 1e-5 * Math.abs(sum) + 1e-30, "chunk sum " + c);
        }
        assertEquals(0f, in.half[1], "a zero chunk has step 0");
    }

    interface VectorCheck {
        void check(float[] x, float[] y, int n, int b, String what);
    }

    /** m's products with 1 and 3 inputs on 1 and 2 threads; {@code check} sees each input vector b of each. */
    static void eachProduct(WeightMatrix m, VectorCheck check) {
        int rows = m.rows(), cols = m.cols();
        for (int n : new int[] {1, 3}) {
            float[] x = inputs(n, cols, rows + n);
            for (int threads : new int[] {1, 2}) {
                Parallel.setThreads(threads);
                float[] y = new float[n * rows];
                ParallelProducts.matmul(m, x, y, n);
                for (int b = 0; b < n; b++) {
                    check.check(x, y, n, b, rows + "x" + cols + " n " + n + " threads " + threads + " vector " + b);
                }
            }
        }
    }

    /** GGML Q4_0 rows: random blocks, and blocks of the extreme codes 0 and 15 with fp16 scales from subnormal to 65504. */
    static byte[] q4_0Rows(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(rows * cols / 32 * 18).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[cols];
        short[] extremeScales = {Float.floatToFloat16(65504f), Float.floatToFloat16(6e-8f), Float.floatToFloat16(-1.5f), 0};
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (rnd.nextGaussian() * (1 + (c % 7 == 0 ? 5 : 0)));
            }
            if (r % 3 != 2) {
                io.nashswarm.quant.GgmlQuantizer.quantize(QuantType.Q4_0, row, 0, cols, b);
                continue;
            }
            for (int blk = 0; blk < cols / 32; blk++) {
                b.putShort(extremeScales[(r + blk) % extremeScales.length]);
                for (int j = 0; j < 16; j++) {
                    b.put((byte) (rnd.nextBoolean() ? 0xF0 : 0x0F));
                }
            }
        }
        return b.array();
    }

    /**
     * The generic lookup path of ggml's Q4_1, Q5_0 and Q5_1 (sub-blocks of 32), with fp16 scales and minimums (5-bit codes
     * as two copies): random blocks with small fp16 fields, rows of 256 and 512 columns, against float64.
     */
    @Test
    void ggmlQ4_1Q5_0AndQ5_1AreWithinTheTableBound() {
        for (QuantType t : new QuantType[] {QuantType.Q4_1, QuantType.Q5_0, QuantType.Q5_1}) {
            for (int[] shape : new int[][] {{1, 256}, {17, 512}, {17, 4352}}) { // 4352: 68 chunks, three column panels, the last of 4
                int rows = shape[0], cols = shape[1];
                byte[] bytes = GgmlBlockTypesTest.randomBlocks(t, rows * cols / t.blockSize(), new Random(rows + t.ordinal()));
                GgmlBlockMatrix m = (GgmlBlockMatrix) Matrices.of(t, MemorySegment.ofArray(bytes), rows, cols, Layout.OUT_IN);
                assertTrue(m.lookupBits() > 0, t + " has a lookup path");
                eachProduct(m, (x, y, n, b, what) -> PackedReference.assertGgmlLookupRows(m, x, b * cols, y, b * rows, 0, rows, t + " " + what));
            }
        }
    }

    /**
     * Random ggml K-quant super-blocks (for ByteRowKernelsTest) (every byte random) with d (and dmin, negative) drawn over {@code span}
     * binades: the fp16 fields of {@link GgmlBlockTypesTest#halfFields}.
     */
    static MemorySegment kQuantRows(QuantType t, int rows, int cols, double span, long seed) {
        Random rnd = new Random(seed);
        int bytes = t.bytesPerBlock();
        MemorySegment seg = MemorySegment.ofArray(new byte[rows * cols / t.blockSize() * bytes]);
        byte[] b = new byte[bytes];
        int[] fields = GgmlBlockTypesTest.halfFields(t);
        for (long o = 0; o < seg.byteSize(); o += bytes) {
            rnd.nextBytes(b);
            MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_BYTE, o, bytes);
            for (int f = 0; f < fields.length; f++) {
                seg.set(F16, o + fields[f], Float.floatToFloat16((float) ((f == 0 ? 1e-3 : -5e-4) * Math.pow(2, -span * rnd.nextDouble()))));
            }
        }
        return seg;
    }

    /** Tables built into another input's arrays (decode reuses a thread's last input) equal tables built afresh. */
    @Test
    void reusedTablesHoldNothingOfTheLastInput() {
        Random rnd = new Random(5);
        int cols = 512;
        for (boolean bytes : new boolean[] {false, true}) {
            for (int trial = 0; trial < 4; trial++) {
                float[] a = new float[cols], b = new float[cols];
                for (int i = 0; i < cols; i++) {
                    a[i] = (float) (rnd.nextGaussian() * Math.pow(10, trial - 2));
                    b[i] = (float) rnd.nextGaussian();
                }
                java.util.Arrays.fill(b, 64, 128, 0f); // a zero chunk after a nonzero one
                LutInput fresh = LutInput.of(b, 0, cols, bytes, null);
                LutInput reused = LutInput.of(b, 0, cols, bytes, LutInput.of(a, 0, cols, bytes, null));
                assertArrayEquals(fresh.table, reused.table);
                assertArrayEquals(fresh.bytes, reused.bytes);
                assertArrayEquals(fresh.half, reused.half);
                assertArrayEquals(fresh.sum, reused.sum);
                assertArrayEquals(fresh.half32, reused.half32);
                assertArrayEquals(fresh.sum32, reused.sum32);
            }
        }
    }
}

package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every kernel (matvec, matmul, dequantizeRow) of every storage type and layout against a float64
 * reference computed from the raw bytes by the test's own decoder ({@link Weights}).
 *
 * <p>Tolerance: a float32 sum of k products computed in any order, with or without fused
 * multiply-add, is within γ_k·Σ|w·x| of the exact sum, γ_k = k·u/(1 - k·u), u = 2^-24 (Higham,
 * <i>Accuracy and Stability of Numerical Algorithms</i>, §3.1/§4.2). Blocked formats add two roundings
 * per block (the block scale multiply and its accumulation), so k = cols + 2 covers every type. Products
 * in the subnormal range lose up to 2^-150 each, absolutely, hence the (k·2^-149) term. Index mistakes
 * cost whole products and are caught exactly by {@link #unitVectorsPickExactColumns()}.
 */
class MatrixKernelTest {
    private static final double U = 0x1p-24;
    private static final int[] DENSE_COLS = {1, 7, 33, 100, 4095};
    private static final int[] BLOCK_COLS = {32, 64, 96, 160, 4096};
    private static final int[] ROWS = {1, 3, 17, 100};
    private static final int[] BATCHES = {1, 2, 3, 5, 8};
    private static final QuantType[] DENSE = {QuantType.F32, QuantType.F16, QuantType.BF16};
    private static final QuantType[] BLOCKED = {QuantType.Q8_0, QuantType.Q4_0};
    /** The types this test covers; the packed group types have their own tests (PackedMatrixTest). */
    private static final QuantType[] ALL = {QuantType.F32, QuantType.F16, QuantType.BF16, QuantType.Q8_0, QuantType.Q4_0};

    private static Arena arena;
    private final SplittableRandom rnd = new SplittableRandom(20240611);

    @BeforeAll static void openArena() { arena = Arena.ofShared(); }
    @AfterAll static void closeArena() { arena.close(); }
    @AfterEach void restoreThreads() { Parallel.setThreads(Parallel.defaultThreads()); }

    /** A matrix under test, with its bytes and its weights as the test decodes them. */
    record Built(WeightMatrix m, QuantType type, Layout layout, int rows, int cols, double[] w, byte[] bytes, String what) {
        double at(int r, int c) { return w[r * cols + c]; }
    }

    enum Kind { RANDOM, EXTREME, ZERO, EQUAL }

    // ---------------------------------------------------------------- building matrices

    private Built dense(QuantType type, Layout layout, int rows, int cols, Kind kind) {
        float[] v = new float[rows * cols];
        float[] extremes = switch (type) {
            case F32 -> new float[]{Float.MAX_VALUE, 3e38f, 1.17549435e-38f, 1e-40f, Float.MIN_VALUE, 1f, 0f};
            case F16 -> new float[]{65504f, 6.1035156e-5f, 0x1p-24f, 0x1p-14f - 0x1p-24f, 1f, 0f};
            default -> new float[]{Float.intBitsToFloat(0x7f7f0000), 1.17549435e-38f, Float.intBitsToFloat(0x00010000), 1f, 0f};
        };
        float same = (float) Weights.decodeDense(type, Weights.encodeDense(type, new float[]{0.3f}), 0);
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (kind) {
                case RANDOM -> (float) rnd.nextGaussian();
                case EXTREME -> (rnd.nextBoolean() ? 1 : -1) * extremes[rnd.nextInt(extremes.length)];
                case ZERO -> rnd.nextBoolean() ? 0f : -0f;
                case EQUAL -> same;
            };
        }
        byte[] bytes = Weights.encodeDense(type, v);
        WeightMatrix m = Matrices.of(type, Weights.offHeap(arena, bytes), rows, cols, layout);
        return decoded(m, type, layout, rows, cols, bytes, kind.toString());
    }

    private Built blocked(QuantType type, int rows, int cols, Kind kind) {
        int blockBytes = type.bytesPerBlock();
        byte[] bytes = new byte[rows * cols / 32 * blockBytes];
        short[] extremeScales = {Float.floatToFloat16(65504f), Float.floatToFloat16(-65504f), (short) 0x0001, (short) 0x83ff, 0, Float.floatToFloat16(1f)};
        for (int o = 0; o < bytes.length; o += blockBytes) {
            short d = switch (kind) {
                case RANDOM -> Float.floatToFloat16((float) rnd.nextGaussian() * 0.01f);
                case EXTREME -> extremeScales[rnd.nextInt(extremeScales.length)];
                case ZERO -> 0;
                case EQUAL -> Float.floatToFloat16(0.0123f);
            };
            bytes[o] = (byte) d;
            bytes[o + 1] = (byte) (d >> 8);
            for (int j = 2; j < blockBytes; j++) {
                bytes[o + j] = switch (kind) {
                    case RANDOM, ZERO -> (byte) rnd.nextInt(256);
                    // Q8_0: -128 / 127; Q4_0: nibbles 0 and 15 (weights -8 and 7) in all four pairings.
                    case EXTREME -> (byte) (type == QuantType.Q8_0 ? (rnd.nextBoolean() ? -128 : 127) : new int[]{0x00, 0xFF, 0x0F, 0xF0}[rnd.nextInt(4)]);
                    case EQUAL -> (byte) 0x9B;
                };
            }
        }
        WeightMatrix m = Matrices.of(type, Weights.offHeap(arena, bytes), rows, cols, Layout.OUT_IN);
        return decoded(m, type, Layout.OUT_IN, rows, cols, bytes, kind.toString());
    }

    private static Built decoded(WeightMatrix m, QuantType type, Layout layout, int rows, int cols, byte[] bytes, String kind) {
        double[] w = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w[r * cols + c] = Weights.weight(type, layout, bytes, rows, cols, r, c);
            }
        }
        return new Built(m, type, layout, rows, cols, w, bytes, type.label() + " " + layout + " " + rows + "x" + cols + " " + kind);
    }

    /** Inputs sized so that no float partial sum can overflow whatever the weights. */
    private float[] inputs(Built b, int n) {
        double maxW = Arrays.stream(b.w).map(Math::abs).max().orElse(0);
        double scale = maxW > 1e30 ? 1e30 / maxW / b.cols : 1;
        float[] x = new float[n * b.cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * scale);
        }
        return x;
    }

    // ---------------------------------------------------------------- checking products

    private static void checkBatch(Built b, float[] x, float[] y, int n, int rowStart, int rowEnd, String how) {
        int k = b.cols + 2;
        double gamma = k * U / (1 - k * U);
        for (int v = 0; v < n; v++) {
            for (int row = 0; row < b.rows; row++) {
                int r = row;
                float got = y[v * b.rows + r];
                if (r < rowStart || r >= rowEnd) {
                    assertTrue(Float.isNaN(got), () -> b.what + " " + how + ": wrote row " + r + " outside its range");
                    continue;
                }
                if ((b.type == QuantType.Q8_0 || b.type == QuantType.Q4_0)
                        && n < ByteRowKernels.panelBatch(b.type == QuantType.Q8_0 ? ByteRows.Kind.GROUPS : ByteRows.Kind.NIBBLE_GROUPS, 32)) {
                    // the 16-bit product kernels: within the bound of the input's rounding (ByteRowKernelsTest); larger
                    // batches take float panels (PanelProducts), held to the float64 bound below
                    PackedReference.assertByteRowProduct(b.m, x, v * b.cols, y, v * b.rows, r, r + 1, b.what + " " + how + " vector " + v);
                    continue;
                }
                double ref = 0, abs = 0;
                for (int c = 0; c < b.cols; c++) {
                    double p = b.at(r, c) * x[v * b.cols + c];
                    ref += p;
                    abs += Math.abs(p);
                }
                double tol = gamma * abs + k * 0x1p-149;
                double err = Math.abs(got - ref), want = ref;
                int vv = v;
                assertTrue(err <= tol, () -> b.what + " " + how + " vector " + vv + " row " + r + ": got " + got + ", want " + want + " ± " + tol);
            }
        }
    }

    private void checkAllProducts(Built b, int[] batches) {
        for (int threads : new int[]{1, 2}) {
            Parallel.setThreads(threads);
            for (int n : batches) {
                float[] x = inputs(b, n);
                float[] y = new float[n * b.rows];
                Arrays.fill(y, Float.NaN);
                ParallelProducts.matmul(b.m, x, y, n);
                checkBatch(b, x, y, n, 0, b.rows, "Parallel.matmul n=" + n + " threads=" + threads);
            }
        }
        // A direct call over an inner row range must leave the other outputs alone.
        int s = b.rows / 3, e = b.rows - b.rows / 4;
        for (int n : new int[]{1, 5}) {
            float[] x = inputs(b, n);
            float[] y = new float[n * b.rows];
            Arrays.fill(y, Float.NaN);
            b.m.matmul(x, y, n, s, e);
            checkBatch(b, x, y, n, s, e, "matmul rows [" + s + "," + e + ") n=" + n);
            if (n == 1) {
                Arrays.fill(y, Float.NaN);
                b.m.matvec(x, y, s, e);
                checkBatch(b, x, y, 1, s, e, "matvec rows [" + s + "," + e + ")");
            }
        }
    }

    /** Every batch size on all but the largest shapes, to keep the test in seconds. */
    private static int[] batchesFor(int rows, int cols) {
        return (long) rows * cols > 100_000 ? new int[]{1, 5} : BATCHES;
    }

    @Test
    void denseProductsMatchFloat64Reference() {
        for (QuantType type : DENSE) {
            for (Layout layout : Layout.values()) {
                for (int rows : ROWS) {
                    for (int cols : DENSE_COLS) {
                        checkAllProducts(dense(type, layout, rows, cols, Kind.RANDOM), batchesFor(rows, cols));
                        for (Kind kind : new Kind[]{Kind.EXTREME, Kind.ZERO, Kind.EQUAL}) {
                            checkAllProducts(dense(type, layout, rows, cols, kind), new int[]{1, 5});
                        }
                    }
                }
            }
        }
    }

    @Test
    void blockedProductsMatchFloat64Reference() {
        for (QuantType type : BLOCKED) {
            for (int rows : ROWS) {
                for (int cols : BLOCK_COLS) {
                    checkAllProducts(blocked(type, rows, cols, Kind.RANDOM), batchesFor(rows, cols));
                    for (Kind kind : new Kind[]{Kind.EXTREME, Kind.ZERO, Kind.EQUAL}) {
                        checkAllProducts(blocked(type, rows, cols, kind), new int[]{1, 5});
                    }
                }
            }
        }
    }

    @Test
    void realTinyModelShapes() {
        // llama2.c 260K-parameter models: dim 64, hidden 172, vocab 512.
        int[][] shapes = {{64, 172}, {172, 64}, {512, 64}, {64, 64}, {288, 768}};
        for (int[] s : shapes) {
            for (QuantType type : DENSE) {
                for (Layout layout : Layout.values()) {
                    checkAllProducts(dense(type, layout, s[0], s[1], Kind.RANDOM), new int[]{1, 4, 7});
                }
            }
            if (s[1] % 32 == 0) {
                for (QuantType type : BLOCKED) {
                    checkAllProducts(blocked(type, s[0], s[1], Kind.RANDOM), new int[]{1, 4, 7});
                }
            }
        }
    }

    /** x = e_c makes every product exact (w·1 and sums with zeros), so y must be column c bit for bit. */
    @Test
    void unitVectorsPickExactColumns() {
        for (int threads : new int[]{1, 2}) {
            Parallel.setThreads(threads);
            for (QuantType type : ALL) {
                for (Layout layout : type.blockSize() > 1 ? new Layout[]{Layout.OUT_IN} : Layout.values()) {
                    Built b = type.blockSize() > 1 ? blocked(type, 37, 96, Kind.RANDOM) : dense(type, layout, 37, 45, Kind.RANDOM);
                    int n = 5;
                    for (int c = 0; c < b.cols; c++) {
                        float[] x = new float[n * b.cols];
                        for (int v = 0; v < n; v++) {
                            x[v * b.cols + (c + v) % b.cols] = 1f;
                        }
                        float[] y = new float[n * b.rows];
                        ParallelProducts.matmul(b.m, x, y, n);
                        float[] y1 = new float[b.rows];
                        ParallelProducts.matvec(b.m, Arrays.copyOf(x, b.cols), y1);
                        for (int r = 0; r < b.rows; r++) {
                            // Q8_0's and Q4_0's kernels take a unit input as 1984 steps of 1/1984 or 127 of 1/127 (ByteRowKernels):
                            // exact but for float rounding
                            for (int v = 0; v < n; v++) {
                                float want = (float) b.at(r, (c + v) % b.cols);
                                assertEquals(want, y[v * b.rows + r], type.blockSize() > 1 ? 4 * Math.ulp(want) : 0f, b.what + " row " + r + " col " + (c + v) % b.cols);
                            }
                            float want = (float) b.at(r, c);
                            assertEquals(want, y1[r], type.blockSize() > 1 ? 4 * Math.ulp(want) : 0f, b.what + " matvec row " + r + " col " + c);
                        }
                    }
                }
            }
        }
    }

    @Test
    void dequantizeRowIsExact() {
        for (QuantType type : ALL) {
            for (Layout layout : type.blockSize() > 1 ? new Layout[]{Layout.OUT_IN} : Layout.values()) {
                for (Kind kind : Kind.values()) {
                    Built b = type.blockSize() > 1 ? blocked(type, 5, 128, kind) : dense(type, layout, 5, 77, kind);
                    float[] out = new float[b.cols + 3];
                    for (int r = 0; r < b.rows; r++) {
                        b.m.dequantizeRow(r, out, 3);
                        for (int c = 0; c < b.cols; c++) {
                            assertEquals((float) b.at(r, c), out[3 + c], 0f, b.what + " (" + r + "," + c + ")");
                        }
                    }
                }
            }
        }
    }

    /** Spec examples computed by hand. */
    @Test
    void handWrittenBlocks() {
        // Q8_0: d = 0.25, q_i = i - 16 → sum of q = 496 - 512 = -16 → dot with ones = -4.
        byte[] q8 = new byte[34];
        q8[0] = (byte) Float.floatToFloat16(0.25f);
        q8[1] = (byte) (Float.floatToFloat16(0.25f) >> 8);
        for (int i = 0; i < 32; i++) {
            q8[2 + i] = (byte) (i - 16);
        }
        // Q4_0: d = 0.5, byte j = j | (15 - j) << 4 → weights 0.5·(j - 8) and 0.5·(7 - j): sums -8·0.5 + -8·0.5 = -8.
        byte[] q4 = new byte[18];
        q4[0] = (byte) Float.floatToFloat16(0.5f);
        q4[1] = (byte) (Float.floatToFloat16(0.5f) >> 8);
        for (int j = 0; j < 16; j++) {
            q4[2 + j] = (byte) (j | (15 - j) << 4);
        }
        float[] ones = new float[32];
        Arrays.fill(ones, 1f);
        float[] y = new float[1];
        Matrices.of(QuantType.Q8_0, Weights.offHeap(arena, q8), 1, 32, Layout.OUT_IN).matvec(ones, y, 0, 1);
        assertEquals(-4f, y[0], 0f);
        Matrices.of(QuantType.Q4_0, Weights.offHeap(arena, q4), 1, 32, Layout.OUT_IN).matvec(ones, y, 0, 1);
        assertEquals(-8f, y[0], 0f);
        float[] row = new float[32];
        Matrices.of(QuantType.Q4_0, Weights.offHeap(arena, q4), 1, 32, Layout.OUT_IN).dequantizeRow(0, row, 0);
        assertEquals(-4f, row[0], 0f);     // byte 0 low nibble 0: 0.5·(0 - 8)
        assertEquals(3.5f, row[16], 0f);   // byte 0 high nibble 15: 0.5·(15 - 8)
        assertEquals(3.5f, row[15], 0f);   // byte 15 low nibble 15
        assertEquals(-4f, row[31], 0f);    // byte 15 high nibble 0
    }

    /**
     * An IN_OUT matrix (GPT-2's Conv1D) is transposed once, at its first product (or prepare): the stored bytes become
     * the exact transpose, element for element, across the 64-element tiles' edges, its rows read the same before and
     * after, and it says OUT_IN. Two threads' first products race into it and both read the transposed copy.
     */
    @Test
    void inOutIsTransposedOnceAtItsFirstProduct() {
        for (QuantType type : new QuantType[]{QuantType.F32, QuantType.F16, QuantType.BF16}) {
            for (int[] shape : new int[][]{{70, 130}, {1, 65}, {64, 1}, {129, 3}}) {
                int rows = shape[0], cols = shape[1], size = type == QuantType.F32 ? 4 : 2;
                Built b = dense(type, Layout.IN_OUT, rows, cols, Kind.RANDOM);
                DenseMatrix m = (DenseMatrix) b.m;
                float[][] before = new float[rows][cols];
                for (int r = 0; r < rows; r++) {
                    m.dequantizeRow(r, before[r], 0);
                }
                assertEquals(Layout.IN_OUT, m.layout(), b.what);
                float[] x = new float[cols], y = new float[rows];
                Arrays.fill(x, 1f);
                Parallel.setThreads(2);
                ParallelProducts.matvec(m, x, y);
                assertEquals(Layout.OUT_IN, m.layout(), type + " " + rows + "x" + cols + " after a product");
                byte[] now = m.data().toArray(ValueLayout.JAVA_BYTE);
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        for (int k = 0; k < size; k++) {
                            assertEquals(b.bytes[(c * rows + r) * size + k], now[(r * cols + c) * size + k],
                                    type + " " + rows + "x" + cols + ": byte " + k + " of (" + r + ", " + c + ")");
                        }
                    }
                }
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    m.dequantizeRow(r, row, 0);
                    assertArrayEquals(before[r], row, type + " row " + r);
                }
                m.prepare(); // once only
                assertArrayEquals(now, m.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void emptyAndInvalidCalls() {
        Built b = dense(QuantType.F32, Layout.OUT_IN, 17, 7, Kind.RANDOM);
        float[] x = new float[7 * 3], y = new float[17 * 3];
        b.m.matmul(x, y, 0, 0, 17);          // nothing to do
        b.m.matvec(x, y, 5, 5);              // empty range
        assertThrows(IndexOutOfBoundsException.class, () -> b.m.matvec(x, y, 10, 18));
        assertThrows(IllegalArgumentException.class, () -> b.m.matvec(new float[6], y, 0, 17));
        assertThrows(IllegalArgumentException.class, () -> b.m.matmul(x, new float[17 * 3 - 1], 3, 0, 17));
        WeightMatrix none = Matrices.of(QuantType.F16, Weights.offHeap(arena, new byte[0]), 0, 8, Layout.IN_OUT);
        ParallelProducts.matvec(none, new float[8], new float[0]);
        assertThrows(IllegalArgumentException.class, () -> new Q8_0Matrix(Weights.offHeap(arena, new byte[34]), 2, 16));
    }
}

package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batches of byte-row products (int4 g64k, Q4_0, Q4_K, Q5_K, Q6_K, int8 g32k, Q8_0) as float panels, and of f32/f16/bf16 rows with the
 * inputs transposed ({@link PanelProducts}):
 * every product against float64 on the dequantized weights, within float rounding of each sum ({@code γ_k·Σ|w·x|},
 * k = cols + 2: the weight rounded once and k − 1 additions), over every zero kind, groups that straddle a panel's 256
 * columns, row counts that leave partial panels, row ranges, batches that leave partial input tiles, and one or two
 * threads. Rows outside a call's range must stay as they were.
 */
class PanelProductsTest {
    private static final double U = 0x1p-24;
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    @Test
    void int4BatchesMatchFloat64() {
        for (int[] shape : new int[][] {{1, 64}, {17, 576}, {40, 320}, {70, 256}}) {
            int rows = shape[0], cols = shape[1];
            float[][] w0 = LutKernelsTest.gaussian(rows, cols, 31 + rows);
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.asymmetric(cols % 192 == 0 ? 192 : 64),
                    GroupSpec.perChannel(cols, false), GroupSpec.perChannel(cols, true)}) {
                WeightMatrix m = RtnQuantizer.quantize(RowSource.of(w0), QuantType.INT4, spec);
                assertTrue(PackedReference.byteRows(m), "int4 " + spec + " takes the nibble-group layout");
                float[][] w = PackedReference.dequantize(m);
                for (int n : new int[] {ByteRowKernels.PANEL_BATCH, ByteRowKernels.PANEL_BATCH + 1, ByteRowKernels.PANEL_BATCH + 7, 64}) {
                    float[] x = LutKernelsTest.inputs(n, cols, rows + n);
                    String what = "int4 " + rows + "x" + cols + " " + spec + " n " + n;
                    checkThreads(m, w, x, n, what);
                    // a row range that starts at the second block of a panel and ends inside a panel
                    int s = Math.min(rows, ByteRows.QUAD_ROWS), e = Math.max(s, rows - rows / 5);
                    float[] y = new float[n * rows];
                    Arrays.fill(y, Float.NaN);
                    m.matmul(x, y, n, s, e);
                    check(w, x, y, n, s, e, what + " rows " + s + ".." + e);
                }
            }
        }
    }

    @Test
    void int8BatchesMatchFloat64() {
        for (int[] shape : new int[][] {{1, 64}, {33, 320}, {70, 576}}) {
            int rows = shape[0], cols = shape[1];
            float[][] w0 = LutKernelsTest.gaussian(rows, cols, 41 + rows);
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(64), GroupSpec.asymmetric(64), GroupSpec.asymmetric(32), GroupSpec.symmetric(32),
                    GroupSpec.perChannel(cols, true)}) {
                WeightMatrix m = RtnQuantizer.quantize(RowSource.of(w0), QuantType.INT8, spec);
                assertTrue(PackedReference.byteRows(m), "int8 " + spec + " takes the byte-group layout");
                float[][] w = PackedReference.dequantize(m);
                for (int n : new int[] {8, 11, 64}) {
                    float[] x = LutKernelsTest.inputs(n, cols, rows + n);
                    checkThreads(m, w, x, n, "int8 " + rows + "x" + cols + " " + spec + " n " + n);
                }
            }
        }
    }

    /**
     * ggml's Q4_0, Q8_0, Q4_K, Q5_K and Q6_K (blocks of 32: fp16 d, then 16 bytes of nibbles, w = d·(q − 8), or 32 signed
     * bytes, w = d·q; super-blocks of 256: fp16 d and dmin, 6-bit scales and minimums, w = d·scale·q − dmin·min, or Q6_K's
     * int8 sub-scales and fp16 d at the end, w = d·sub·(q − 32)) with random codes and ordinary, largest, subnormal and
     * negative scales.
     */
    @ParameterizedTest
    @EnumSource(value = QuantType.class, names = {"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K"})
    void ggmlBatchesMatchFloat64(QuantType type) {
        Random rnd = new Random(7);
        float[] scales = {0.01f, 65504f, 6e-8f, -0.37f};
        int blockBytes = type.bytesPerBlock(), blockSize = type.blockSize();
        int first = ByteRowKernels.panelBatch(type == QuantType.Q8_0 ? ByteRows.Kind.GROUPS : type == QuantType.Q4_0 ? ByteRows.Kind.NIBBLE_GROUPS
                : ByteRows.Kind.NIBBLE_SUPER_BLOCKS, 32); // the smallest batch on panels
        int[][] shapes = blockSize == 32 ? new int[][] {{1, 32}, {17, 288}, {40, 544}, {70, 256}} : new int[][] {{1, 256}, {17, 768}, {40, 512}};
        for (int[] shape : shapes) {
            int rows = shape[0], cols = shape[1];
            byte[] raw = new byte[rows * cols / blockSize * blockBytes];
            rnd.nextBytes(raw);
            // the fp16 scales finite: d (and dmin) at the block's start, Q6_K's d at its end; K-quants' sub-scales go to 63 or 127
            int[] at = type == QuantType.Q6_K ? new int[] {208} : type == QuantType.Q4_K || type == QuantType.Q5_K ? new int[] {0, 2} : new int[] {0};
            float sub = type == QuantType.Q6_K ? 128 : blockSize == 256 ? 64 : 1;
            for (int blk = 0; blk < raw.length / blockBytes; blk++) {
                for (int k = 0; k < at.length; k++) {
                    short h = Float.floatToFloat16(scales[(blk + k) % scales.length] * (0.5f + 0.5f * rnd.nextFloat()) / sub);
                    raw[blockBytes * blk + at[k]] = (byte) h;
                    raw[blockBytes * blk + at[k] + 1] = (byte) (h >> 8);
                }
            }
            try (Arena arena = Arena.ofShared()) {
                WeightMatrix m = Matrices.of(type, arena.allocate(raw.length).copyFrom(MemorySegment.ofArray(raw)), rows, cols, Layout.OUT_IN);
                float[][] w = PackedReference.dequantize(m);
                for (int n : new int[] {first, first + 5, 64}) {
                    float[] x = new float[n * cols];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) rnd.nextGaussian() * (i % 3 == 0 ? 1e-3f : 1f); // weights up to 127·65504: sums stay finite
                    }
                    checkThreads(m, w, x, n, type + " " + rows + "x" + cols + " n " + n);
                }
            }
        }
    }

    /**
     * f32, f16 and bf16 in both layouts: stored row by row (OUT_IN), batches take {@link PanelProducts#rowProducts} (inputs
     * transposed, weights broadcast); stored input row by input row (IN_OUT, GPT-2's Conv1D), the panels are runs of the
     * stored rows ({@link PanelProducts#products}).
     */
    @ParameterizedTest
    @EnumSource(value = QuantType.class, names = {"F32", "F16", "BF16"})
    void denseBatchesMatchFloat64(QuantType type) {
        Random rnd = new Random(11);
        for (int[] shape : new int[][] {{1, 7}, {17, 300}, {40, 513}, {7, 256}, {70, 260}}) for (Layout layout : Layout.values()) {
            int rows = shape[0], cols = shape[1], size = type == QuantType.F32 ? 4 : 2;
            java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate(rows * cols * size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < rows * cols; i++) {
                float v = (float) rnd.nextGaussian() * (i % 13 == 0 ? 100f : 1f);
                switch (type) {
                    case F32 -> raw.putFloat(v);
                    case F16 -> raw.putShort(Float.floatToFloat16(v));
                    default -> raw.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                }
            }
            try (Arena arena = Arena.ofShared()) {
                WeightMatrix m = Matrices.of(type, arena.allocate(raw.capacity()).copyFrom(MemorySegment.ofArray(raw.array())), rows, cols, layout);
                float[][] w = PackedReference.dequantize(m);
                for (int n : new int[] {1, 2, 5, PanelProducts.ROW_BATCH, 37, 64}) {
                    float[] x = LutKernelsTest.inputs(n, cols, rows + n);
                    String what = type + " " + layout + " " + rows + "x" + cols + " n " + n;
                    checkThreads(m, w, x, n, what);
                    int s = rows / 3, e = rows - rows / 4;
                    float[] y = new float[n * rows];
                    Arrays.fill(y, Float.NaN);
                    m.matmul(x, y, n, s, e);
                    check(w, x, y, n, s, e, what + " rows " + s + ".." + e);
                }
            }
        }
    }

    /** All rows of n inputs on one thread and on two, each into outputs poisoned with NaN. */
    private static void checkThreads(WeightMatrix m, float[][] w, float[] x, int n, String what) {
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            float[] y = new float[n * m.rows()];
            Arrays.fill(y, Float.NaN);
            ParallelProducts.matmul(m, x, y, n);
            check(w, x, y, n, 0, m.rows(), what + " threads " + threads);
        }
    }

    private static void check(float[][] w, float[] x, float[] y, int n, int r0, int r1, String what) {
        int rows = w.length, cols = w[0].length, k = cols + 2;
        double gamma = k * U / (1 - k * U);
        for (int b = 0; b < n; b++) {
            for (int r = 0; r < rows; r++) {
                float got = y[b * rows + r];
                if (r < r0 || r >= r1) {
                    assertTrue(Float.isNaN(got), what + ": wrote row " + r + " of vector " + b + " outside its range");
                    continue;
                }
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) w[r][c] * x[b * cols + c];
                    ref += p;
                    mag += Math.abs(p);
                }
                double tol = gamma * mag + k * 0x1p-149;
                assertTrue(Math.abs(got - ref) <= tol, what + ": vector " + b + " row " + r + ": got " + got + ", float64 " + ref + " ± " + tol);
            }
        }
    }
}

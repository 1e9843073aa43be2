package io.nashswarm.tensor;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.quant.MixedQuantizer;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Fused kernels against the float64 reference, on random and adversarial inputs, 1 and 2 threads. */
class PackedMatrixTest {
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** Gaussian weights with adversarial groups mixed in: zeros, all-equal, tiny, large. */
    static float[][] weights(int rows, int cols, int g, long seed) {
        Random rnd = new Random(seed);
        float[][] w = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < cols / g; gi++) {
                int kind = rnd.nextInt(8);
                float c = (float) rnd.nextGaussian();
                for (int i = gi * g; i < (gi + 1) * g; i++) {
                    w[r][i] = switch (kind) {
                        case 0 -> 0f;                                        // zero group
                        case 1 -> c;                                         // all equal
                        case 2 -> (float) (1e-6 * rnd.nextGaussian());       // fp16-subnormal scales
                        case 3 -> (float) (3e3 * rnd.nextGaussian());        // large scales
                        default -> (float) (0.02 * rnd.nextGaussian());      // ordinary weights
                    };
                }
            }
        }
        return w;
    }

    static float[] vectors(int n, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    record Case(QuantType type, int rows, int cols, GroupSpec spec) {}

    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        int[][] shapes = {{1, 32}, {7, 64}, {17, 128}, {33, 96}, {3, 256}, {4, 384}};
        for (QuantType t : new QuantType[] {QuantType.INT8, QuantType.INT4, QuantType.INT2, QuantType.NF4, QuantType.FP4}) {
            for (int[] s : shapes) {
                int rows = s[0], cols = s[1];
                List<GroupSpec> specs = new ArrayList<>();
                for (int g : new int[] {32, 64, 128, 192}) {
                    if (cols % g == 0) {
                        specs.add(GroupSpec.symmetric(g));
                        specs.add(GroupSpec.asymmetric(g));
                    }
                }
                specs.add(GroupSpec.perChannel(cols, false));
                specs.add(GroupSpec.perChannel(cols, true));
                specs.add(GroupSpec.perTensor(cols, false));
                specs.add(GroupSpec.perTensor(cols, true));
                for (GroupSpec spec : specs) {
                    if ((t == QuantType.NF4 || t == QuantType.FP4) && spec.asymmetric()) {
                        continue;
                    }
                    out.add(new Case(t, rows, cols, spec));
                }
            }
        }
        return out;
    }

    static PackedMatrix quantize(Case c, float[][] w) {
        RowSource src = RowSource.of(w);
        return c.type() == QuantType.NF4 ? RtnQuantizer.nf4(src, c.spec())
                : c.type() == QuantType.FP4 ? (PackedMatrix) io.nashswarm.quant.TensorQuantizer.uniform(src, QuantType.FP4, c.spec(), java.lang.foreign.Arena.ofAuto())
                : RtnQuantizer.quantize(src, c.type(), c.spec());
    }

    /** The per-tensor cases use well-scaled weights: one scale for 1e-6 and 3e3 groups would be meaningless. */
    static float[][] weightsFor(Case c, long seed) {
        if (!c.spec().perTensor()) {
            return weights(c.rows(), c.cols(), Math.min(c.spec().groupSize(), 32), seed);
        }
        Random rnd = new Random(seed);
        float[][] w = new float[c.rows()][c.cols()];
        for (float[] row : w) {
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) rnd.nextGaussian();
            }
        }
        return w;
    }

    @Test
    void matvecAndMatmulMatchReferenceForEveryTypeAndSpec() {
        long seed = 1;
        for (Case c : cases()) {
            PackedMatrix m = quantize(c, weightsFor(c, seed++));
            checkProducts(m, c.toString(), seed++);
        }
    }

    static void checkProducts(WeightMatrix m, String what, long seed) {
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (int n : new int[] {1, 2, 3, 5}) {
                float[] x = vectors(n, m.cols(), seed + n);
                float[] y = new float[n * m.rows()];
                ParallelProducts.matmul(m, x, y, n);
                PackedReference.assertProduct(m, x, y, n, what + " threads=" + threads + " n=" + n);
            }
            // A row range leaves the other rows untouched.
            float[] x = vectors(1, m.cols(), seed);
            float[] y = new float[m.rows()];
            java.util.Arrays.fill(y, 7f);
            int start = m.rows() / 2;
            m.matvec(x, y, start, m.rows());
            for (int r = 0; r < start; r++) {
                assertEquals(7f, y[r], what + " wrote outside its row range");
            }
        }
    }

    @Test
    void storageBytesEqualsSectionsAndTablePrediction() {
        for (Case c : cases()) {
            PackedMatrix m = quantize(c, weightsFor(c, 5));
            long sum = m.sections().values().stream().mapToLong(MemorySegment::byteSize).sum();
            assertEquals(sum, m.storageBytes(), c.toString());
            assertEquals(c.type().bytesFor(c.rows(), c.cols(), c.spec()), m.storageBytes(), c.toString());
            List<String> names = c.type().sections(c.rows(), c.cols(), c.spec()).stream().map(Section::name).toList();
            assertEquals(names, List.copyOf(m.sections().keySet()), c.toString());
            // Rebuilding from the sections alone (what a file reader does) gives the same matrix.
            PackedMatrix again = Matrices.packed(c.type(), c.rows(), c.cols(), c.spec(), m.sections());
            assertArrayEquals(PackedReference.dequantize(m), PackedReference.dequantize(again), c.toString());
        }
    }

    @Test
    void bitsPerWeightFormulas() {
        // bits + 16/g for the fp16 scale (+ bits/g for an asymmetric zero): the exact accounting.
        assertEquals(4 + 16.0 / 64, QuantType.INT4.bytesFor(4096, 4096, GroupSpec.symmetric(64)) * 8.0 / (4096.0 * 4096), 1e-12);
        assertEquals(2 + 16.0 / 32 + 2.0 / 32, QuantType.INT2.bytesFor(64, 4096, GroupSpec.asymmetric(32)) * 8.0 / (64.0 * 4096), 1e-12);
        assertEquals(8 + 16.0 / 128 + 8.0 / 128, QuantType.INT8.bytesFor(64, 4096, GroupSpec.asymmetric(128)) * 8.0 / (64.0 * 4096), 1e-12);
        assertEquals(4 + 16.0 / 64, QuantType.NF4.bytesFor(8, 768, GroupSpec.symmetric(64)) * 8.0 / (8.0 * 768), 1e-12);
        // per-tensor: one fp16 scale for everything
        assertEquals(4L * 4096 / 2 + 2, QuantType.INT4.bytesFor(4, 4096, GroupSpec.perTensor(4096, false)));
        // mixed 10/20/70 at g64: 0.1·8 + 0.2·4 + 0.7·2 = 3.0 code bits + 16/64 scale + 2/64 map (+ outliers)
        long groups = 1000L * 6400 / 64;
        MixCounts mix = new MixCounts(groups * 7 / 10, groups * 2 / 10, groups / 10, 0);
        assertEquals(3.0 + 16.0 / 64 + 2.0 / 64, QuantType.MIXED.bytesFor(1000, 6400, GroupSpec.symmetric(64), mix) * 8.0 / (1000.0 * 6400), 1e-12);
        MixCounts withOutliers = new MixCounts(groups * 7 / 10, groups * 2 / 10, groups / 10, 500);
        assertEquals(500 * 4 + 1001 * 4, QuantType.MIXED.bytesFor(1000, 6400, GroupSpec.symmetric(64), withOutliers)
                - QuantType.MIXED.bytesFor(1000, 6400, GroupSpec.symmetric(64), mix));
    }

    @Test
    void mixedMatrixMatchesReference() {
        long seed = 100;
        for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(32), GroupSpec.asymmetric(64), GroupSpec.symmetric(128), GroupSpec.asymmetric(32)}) {
            for (int[] shape : new int[][] {{1, 128}, {19, 256}, {5, 384}}) {
                int rows = shape[0], cols = shape[1], groups = cols / spec.groupSize();
                float[][] w = weights(rows, cols, 32, seed++);
                byte[] widths = randomWidths(rows * groups, seed++);
                for (boolean withOutliers : new boolean[] {false, true}) {
                    long[] out = withOutliers ? randomOutliers(rows, cols, seed++) : null;
                    MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(w), spec, widths, out, ScaleRule.MINMAX, Arena.ofAuto());
                    String what = "mixed " + rows + "x" + cols + " " + spec + (withOutliers ? " +outliers" : "");
                    checkProducts(m, what, seed++);
                    assertEquals(QuantType.MIXED.bytesFor(rows, cols, spec, m.counts()), m.storageBytes(), what);
                    assertEquals(m.sections().values().stream().mapToLong(MemorySegment::byteSize).sum(), m.storageBytes(), what);
                    for (int i = 0; i < widths.length; i++) {
                        assertEquals(widths[i], m.width(i / groups, i % groups), what + " width of group " + i);
                    }
                    PackedMatrix again = Matrices.packed(QuantType.MIXED, rows, cols, spec, m.sections());
                    assertArrayEquals(PackedReference.dequantize(m), PackedReference.dequantize(again), what);
                }
            }
        }
    }

    @Test
    void mixedMapsLongerThanAWordAtUnalignedRowOffsets() {
        // 37 and 70 groups per row: map rows start at odd bit offsets and span several 64-bit words.
        for (int cols : new int[] {37 * 32, 70 * 32}) {
            int rows = 5, groups = cols / 32;
            float[][] w = weights(rows, cols, 32, cols);
            byte[] widths = randomWidths(rows * groups, cols + 1);
            MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(w), GroupSpec.asymmetric(32), widths, null, ScaleRule.MINMAX, Arena.ofAuto());
            checkProducts(m, "mixed " + groups + " groups/row", cols + 2);
            for (int i = 0; i < widths.length; i++) {
                assertEquals(widths[i], m.width(i / groups, i % groups));
            }
            // Independent of the row decoding the kernels share with dequantizeRow: every weight is within
            // half a step of the original, with the step of its own group (looked up by position).
            float[][] q = PackedReference.dequantize(m);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    float step = Math.abs(m.scale(r, c / 32));
                    assertTrue(Math.abs(q[r][c] - w[r][c]) <= step / 2 + 1e-6 * Math.abs(w[r][c]) + 1e-45,
                            "row " + r + " col " + c + ": " + w[r][c] + " -> " + q[r][c] + " (step " + step + ")");
                }
            }
        }
    }

    @Test
    void mixedRowsOfASingleWidthAndAllWidths() {
        int rows = 3, cols = 192, g = 64;
        float[][] w = weights(rows, cols, 32, 9);
        for (byte width : new byte[] {2, 4, 8}) {
            byte[] widths = new byte[rows * cols / g];
            java.util.Arrays.fill(widths, width);
            MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(g), widths);
            checkProducts(m, "mixed all " + width + "-bit", 10);
            // Same codes as the uniform type, plus the 2-bit-per-group map.
            QuantType uniform = width == 2 ? QuantType.INT2 : width == 4 ? QuantType.INT4 : QuantType.INT8;
            IntGroupMatrix u = RtnQuantizer.quantize(RowSource.of(w), uniform, GroupSpec.symmetric(g));
            assertArrayEquals(PackedReference.dequantize(u), PackedReference.dequantize(m));
            assertEquals(u.storageBytes() + (rows * cols / g * 2 + 7) / 8, m.storageBytes());
        }
        // one width per group column: uniform parts (MixedColumns) on every machine for 8- and 4-bit, 2-bit with 512-bit vectors
        for (byte[] column : new byte[][] {{8, 4, 4}, {4, 8, 2}}) {
            byte[] widths = new byte[rows * column.length];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(column, 0, widths, r * column.length, column.length);
            }
            MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(g), widths);
            assertEquals(column[2] != 2 || LutKernels.NATIVE, PackedReference.columnParts(m));
            checkProducts(m, "mixed per column " + java.util.Arrays.toString(column), 11);
        }
    }

    static byte[] randomWidths(int n, long seed) {
        Random rnd = new Random(seed);
        byte[] widths = new byte[n];
        for (int i = 0; i < n; i++) {
            double p = rnd.nextDouble();
            widths[i] = (byte) (p < 0.1 ? 8 : p < 0.3 ? 4 : 2);
        }
        return widths;
    }

    static long[] randomOutliers(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        java.util.TreeSet<Long> set = new java.util.TreeSet<>();
        while (set.size() < Math.max(1, rows * cols / 100)) {
            set.add((long) rnd.nextInt(rows) * cols + rnd.nextInt(cols));
        }
        return set.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void badSpecsAndSectionsAreClearErrors() {
        float[][] w = weights(2, 96, 32, 3);
        EngineException e = assertThrows(EngineException.class,
                () -> RtnQuantizer.quantize(RowSource.of(w), QuantType.INT4, GroupSpec.symmetric(64)));
        assertTrue(e.getMessage().contains("group size 64 does not divide the row length 96"), e.getMessage());
        assertThrows(EngineException.class, () -> GroupSpec.symmetric(48));
        assertThrows(EngineException.class, () -> GroupSpec.fromFlags(64, 4));
        assertThrows(EngineException.class, () -> RtnQuantizer.nf4(RowSource.of(w), GroupSpec.asymmetric(32)));

        IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(w), QuantType.INT4, GroupSpec.symmetric(32));
        var sections = new HashMap<>(m.sections());
        sections.put(Section.SCALES, m.sections().get(Section.SCALES).asSlice(2));
        e = assertThrows(EngineException.class, () -> Matrices.packed(QuantType.INT4, 2, 96, GroupSpec.symmetric(32), sections));
        assertTrue(e.getMessage().contains("'scales' has 10 bytes, expected 12"), e.getMessage());
        sections.remove(Section.SCALES);
        e = assertThrows(EngineException.class, () -> Matrices.packed(QuantType.INT4, 2, 96, GroupSpec.symmetric(32), sections));
        assertTrue(e.getMessage().contains("'scales' is missing"), e.getMessage());
        var extra = new HashMap<>(m.sections());
        extra.put("junk", MemorySegment.ofArray(new byte[1]));
        assertThrows(EngineException.class, () -> Matrices.packed(QuantType.INT4, 2, 96, GroupSpec.symmetric(32), extra));
        assertThrows(IllegalArgumentException.class, () -> Matrices.of(QuantType.INT4, MemorySegment.ofArray(new byte[100]), 2, 96, Layout.OUT_IN));
    }

    @Test
    void invalidWidthsAreErrors() {
        float[][] w = weights(2, 64, 32, 3);
        EngineException e = assertThrows(EngineException.class,
                () -> MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(32), new byte[] {2, 4, 3, 8}));
        assertTrue(e.getMessage().contains("invalid width 3 at row 1, group 0"), e.getMessage());
        assertThrows(EngineException.class, () -> MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(32), new byte[] {2, 4, 8}));

        MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(32), new byte[] {2, 4, 8, 2});
        var sections = new HashMap<>(m.sections());
        MemorySegment map = Arena.ofAuto().allocate(1);
        map.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 0b11_00_10_01); // group 3 has code 3
        sections.put(Section.MAP, map);
        e = assertThrows(EngineException.class, () -> Matrices.packed(QuantType.MIXED, 2, 64, GroupSpec.symmetric(32), sections));
        assertTrue(e.getMessage().contains("invalid width code 3 at row 1, group 1"), e.getMessage());
    }

    @Test
    void scalesBeyondFp16AndNonFiniteWeightsAreErrors() {
        float[][] w = new float[1][32];
        w[0][0] = 1e7f; // 2-bit symmetric scale 5e6 > 65504
        EngineException e = assertThrows(EngineException.class,
                () -> RtnQuantizer.quantize(RowSource.of(w), QuantType.INT2, GroupSpec.symmetric(32)));
        assertTrue(e.getMessage().contains("does not fit fp16"), e.getMessage());
        w[0][0] = Float.NaN;
        assertThrows(EngineException.class, () -> RtnQuantizer.quantize(RowSource.of(w), QuantType.INT8, GroupSpec.symmetric(32)));
    }

    @Test
    void hugeButRepresentableScalesWork() {
        float[][] w = new float[3][64];
        Random rnd = new Random(4);
        for (float[] row : w) {
            for (int i = 0; i < row.length; i++) {
                row[i] = (float) (6e4 * (rnd.nextDouble() * 2 - 1)); // 2-bit scale up to 3e4, still fp16
            }
        }
        for (QuantType t : new QuantType[] {QuantType.INT8, QuantType.INT4, QuantType.INT2}) {
            checkProducts(RtnQuantizer.quantize(RowSource.of(w), t, GroupSpec.symmetric(32)), t + " huge", 5);
            checkProducts(RtnQuantizer.quantize(RowSource.of(w), t, GroupSpec.asymmetric(64)), t + " huge asym", 6);
        }
    }
}

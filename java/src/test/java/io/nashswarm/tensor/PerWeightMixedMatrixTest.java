package io.nashswarm.tensor;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.quant.PerWeightQuantizer;
import io.nashswarm.quant.RowSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The per-weight mixed type: exact decoding against an independent RTN, kernels against float64, exact sizes. */
class PerWeightMixedMatrixTest {
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** Widths drawn 10/20/70 at random, with an all-2-bit row and a lone 8-bit weight for edge cases. */
    static byte[] widths(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        byte[] w = new byte[rows * cols];
        for (int i = 0; i < w.length; i++) {
            double u = rnd.nextDouble();
            w[i] = (byte) (u < 0.1 ? 8 : u < 0.3 ? 4 : 2);
        }
        if (rows > 2) {
            java.util.Arrays.fill(w, cols, 2 * cols, (byte) 2);
            java.util.Arrays.fill(w, 2 * cols, 3 * cols, (byte) 2);
            w[2 * cols + cols / 2] = 8;
        }
        return w;
    }

    /** The fp16 value nearest to s that is at least as large in magnitude (written here independently). */
    static float f16Up(float s) {
        short h = Float.floatToFloat16(s);
        float f = Float.float16ToFloat(h);
        return Math.abs(f) < Math.abs(s) ? Float.float16ToFloat((short) (h + 1)) : f;
    }

    /** Independent symmetric RTN of each (group, width) sub-group: the value every weight must decode to. */
    static float[][] expected(float[][] w, byte[] widths, int g) {
        int rows = w.length, cols = w[0].length;
        float[][] out = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int g0 = 0; g0 < cols; g0 += g) {
                for (int bits : new int[] {2, 4, 8}) {
                    float m = 0;
                    for (int c = g0; c < g0 + g; c++) {
                        if (widths[r * cols + c] == bits && Math.abs(w[r][c]) > Math.abs(m)) {
                            m = w[r][c];
                        }
                    }
                    int half = 1 << (bits - 1), top = (1 << bits) - 1;
                    float s = f16Up(-m / half);
                    for (int c = g0; c < g0 + g; c++) {
                        if (widths[r * cols + c] == bits) {
                            int u = s == 0f ? half : Math.max(0, Math.min(top, Math.round(w[r][c] / s) + half));
                            out[r][c] = s * (u - half);
                        }
                    }
                }
            }
        }
        return out;
    }

    @Test
    void decodesToIndependentRtnAndMultipliesLikeFloat64() {
        long seed = 11;
        for (int[] shape : new int[][] {{1, 32}, {7, 64}, {17, 128}, {33, 96}, {3, 256}}) {
            int rows = shape[0], cols = shape[1];
            for (int g : new int[] {32, 64, 128}) {
                if (cols % g != 0) {
                    continue;
                }
                GroupSpec spec = GroupSpec.symmetric(g);
                float[][] w = PackedMatrixTest.weights(rows, cols, 32, seed++);
                byte[] widths = widths(rows, cols, seed++);
                PerWeightMixedMatrix m = PerWeightQuantizer.quantize(RowSource.of(w), spec, widths, ScaleRule.MINMAX, Arena.ofAuto());
                String what = "perweight " + rows + "x" + cols + " " + spec;
                assertArrayEquals(expected(w, widths, g), PackedReference.dequantize(m), what);
                for (int i = 0; i < widths.length; i++) {
                    assertEquals(widths[i], m.width(i / cols, i % cols), what + " width of weight " + i);
                }
                PackedMatrixTest.checkProducts(m, what, seed++);
                // A file reader rebuilds it from the sections alone.
                PackedMatrix again = Matrices.packed(QuantType.PERWEIGHT, rows, cols, spec, m.sections());
                assertArrayEquals(PackedReference.dequantize(m), PackedReference.dequantize(again), what);
            }
        }
    }

    @Test
    void sizesFollowTheFormula() {
        int rows = 9, cols = 192, g = 64;
        byte[] widths = widths(rows, cols, 3);
        long n8 = 0, n4 = 0, n2 = 0;
        for (byte b : widths) {
            if (b == 8) n8++;
            else if (b == 4) n4++;
            else n2++;
        }
        PerWeightMixedMatrix m = PerWeightQuantizer.quantize(RowSource.of(PackedMatrixTest.weights(rows, cols, 32, 4)),
                GroupSpec.symmetric(g), widths, ScaleRule.MINMAX, Arena.ofAuto());
        // map: 2 bits/weight; codes: one region per width, each rounded up to a byte; scales: 3 fp16 per group.
        long expected = (rows * cols * 2 + 7) / 8 + n8 + (n4 + 1) / 2 + (n2 + 3) / 4 + 3L * 2 * rows * (cols / g);
        assertEquals(expected, m.storageBytes());
        assertEquals(new MixCounts(n2, n4, n8, 0), m.counts());
        assertEquals(m.sections().values().stream().mapToLong(MemorySegment::byteSize).sum(), m.storageBytes());
        // 10/20/70 by weight at g64 costs ≈ 3 code bits + 2 map bits + 0.75 scale bits.
        assertEquals(2 + 0.75 + (8.0 * n8 + 4.0 * n4 + 2.0 * n2) / (rows * cols), m.bitsPerWeight(), 0.01);
    }

    @Test
    void badSectionsAreRefused() {
        int rows = 2, cols = 64;
        GroupSpec spec = GroupSpec.symmetric(64);
        PerWeightMixedMatrix m = PerWeightQuantizer.quantize(RowSource.of(PackedMatrixTest.weights(rows, cols, 32, 9)), spec,
                widths(rows, cols, 9), ScaleRule.MINMAX, Arena.ofAuto());
        Map<String, MemorySegment> bad = new HashMap<>(m.sections());
        MemorySegment map = Arena.ofAuto().allocate(bad.get(Section.MAP).byteSize());
        map.copyFrom(bad.get(Section.MAP));
        map.set(ValueLayout.JAVA_BYTE, 0, (byte) 0xFF); // width code 3
        bad.put(Section.MAP, map);
        assertTrue(assertThrows(EngineException.class, () -> Matrices.packed(QuantType.PERWEIGHT, rows, cols, spec, bad))
                .getMessage().contains("invalid width code 3"));
        Map<String, MemorySegment> shortCodes = new HashMap<>(m.sections());
        shortCodes.put(Section.CODES, m.sections().get(Section.CODES).asSlice(1));
        assertThrows(EngineException.class, () -> Matrices.packed(QuantType.PERWEIGHT, rows, cols, spec, shortCodes));
        assertThrows(EngineException.class, () -> Matrices.packed(QuantType.PERWEIGHT, rows, cols, GroupSpec.asymmetric(64), m.sections()));
        assertThrows(EngineException.class, () -> PerWeightQuantizer.quantize(RowSource.of(new float[2][64]), spec, new byte[128],
                ScaleRule.MINMAX, Arena.ofAuto()));
    }
}

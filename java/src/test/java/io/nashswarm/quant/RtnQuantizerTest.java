package io.nashswarm.quant;

import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.IntGroupMatrix;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.NF4Matrix;
import io.nashswarm.tensor.NormalFloat4;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Round trips: quantize, dequantize, and compare with the error bound each scale implies. */
class RtnQuantizerTest {
    /** Gaussian groups at very different magnitudes, zero groups and all-equal groups. */
    static float[][] weights(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[][] w = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < cols / 32; g++) {
                int kind = rnd.nextInt(6);
                double mag = Math.pow(10, rnd.nextInt(9) - 6); // 1e-6 .. 1e2
                float c = (float) (mag * rnd.nextGaussian());
                for (int i = g * 32; i < g * 32 + 32; i++) {
                    w[r][i] = kind == 0 ? 0f : kind == 1 ? c : (float) (mag * rnd.nextGaussian());
                }
            }
        }
        return w;
    }

    private static float[] row(IntGroupMatrix m, int r) {
        float[] out = new float[m.cols()];
        m.dequantizeRow(r, out, 0);
        return out;
    }

    @Test
    void integerCodesAreWithinHalfAStepOfEachWeight() {
        float[][] w = weights(9, 256, 1);
        for (QuantType t : new QuantType[] {QuantType.INT8, QuantType.INT4, QuantType.INT2}) {
            int bits = t.codeBits(), half = 1 << (bits - 1);
            for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(32), GroupSpec.asymmetric(32), GroupSpec.symmetric(64),
                    GroupSpec.asymmetric(128), GroupSpec.perChannel(256, false), GroupSpec.perChannel(256, true)}) {
                IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(w), t, spec);
                for (int r = 0; r < w.length; r++) {
                    float[] q = row(m, r);
                    for (int c = 0; c < 256; c++) {
                        float s = m.scale(r, c / spec.groupSize());
                        double err = Math.abs(w[r][c] - q[c]);
                        double slack = 1e-6 * Math.abs(w[r][c]) + 1e-45;
                        String what = t + " " + spec + " w[" + r + "][" + c + "]=" + w[r][c] + " -> " + q[c] + ", scale " + s;
                        if (s == 0f) {
                            assertEquals(0f, w[r][c], what); // scales round up, so only all-zero groups get 0
                            assertEquals(0f, q[c], 0f, what);
                        } else if (spec.asymmetric()) {
                            assertTrue(err <= Math.abs(s) / 2 + slack, what);
                        } else {
                            double step = w[r][c] / s; // codes −half .. half−1; beyond half−½ the weight clamps
                            assertTrue(step >= -half - 0.5 - 1e-6, what);
                            assertTrue(err <= (step <= half - 0.5 ? Math.abs(s) / 2 : Math.abs(s)) + slack, what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void zeroAndAllEqualGroupsAreExactAsymmetric() {
        float[][] w = new float[2][64];
        java.util.Arrays.fill(w[0], 0, 32, 0f);
        java.util.Arrays.fill(w[0], 32, 64, -0.375f);
        java.util.Arrays.fill(w[1], 0, 32, 1234.5f);
        java.util.Arrays.fill(w[1], 32, 64, 3e-7f);
        for (QuantType t : new QuantType[] {QuantType.INT8, QuantType.INT4, QuantType.INT2}) {
            IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(w), t, GroupSpec.asymmetric(32));
            for (int r = 0; r < 2; r++) {
                float[] q = row(m, r);
                for (int c = 0; c < 64; c++) {
                    // c = s·(top − 0) with s rounded up to fp16: exact up to fp16 rounding of s, or half a
                    // step when s is an fp16 subnormal.
                    float step = Math.abs(m.scale(r, c / 32));
                    assertEquals(w[r][c], q[c], Math.max(Math.abs(w[r][c]) * 1e-3, step / 2), t + " [" + r + "][" + c + "]");
                }
            }
        }
    }

    @Test
    void perTensorUsesOneScale() {
        float[][] w = weights(4, 128, 2);
        for (boolean asym : new boolean[] {false, true}) {
            IntGroupMatrix m = RtnQuantizer.quantize(RowSource.of(w), QuantType.INT8, GroupSpec.perTensor(128, asym));
            assertEquals(2 + 128 * 4 + (asym ? 1 : 0), m.storageBytes());
            float max = 0, lo = 0, hi = 0;
            for (float[] r : w) {
                for (float v : r) {
                    max = Math.max(max, Math.abs(v));
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            float s = Math.abs(m.scale(0, 0));
            assertEquals(s, Math.abs(m.scale(3, 0)));
            // One scale for the whole tensor: at least max/128 (symmetric) or (max − min)/255.
            float least = asym ? (hi - lo) / 255 : max / 128;
            assertTrue(s >= least * 0.9999 && s <= least * 1.001, "scale " + s + " vs " + least);
            for (int r = 0; r < 4; r++) {
                float[] q = row(m, r);
                for (int c = 0; c < 128; c++) {
                    assertTrue(Math.abs(q[c] - w[r][c]) <= s * (asym ? 0.5 : 1.0) * 1.0001, "per-tensor error at " + r + "," + c);
                }
            }
        }
    }

    @Test
    void nf4IsWithinHalfTheWidestCodebookGap() {
        float[] t = NormalFloat4.codebook();
        double gap = 0;
        for (int i = 1; i < 16; i++) {
            gap = Math.max(gap, t[i] - t[i - 1]);
        }
        float[][] w = weights(5, 128, 3);
        for (GroupSpec spec : new GroupSpec[] {GroupSpec.symmetric(32), GroupSpec.symmetric(128), GroupSpec.perChannel(128, false)}) {
            NF4Matrix m = RtnQuantizer.nf4(RowSource.of(w), spec);
            for (int r = 0; r < 5; r++) {
                float[] q = new float[128];
                m.dequantizeRow(r, q, 0);
                for (int c = 0; c < 128; c++) {
                    float s = m.scale(r, c / spec.groupSize());
                    assertTrue(Math.abs(q[c] - w[r][c]) <= s * gap / 2 + 1e-6 * Math.abs(w[r][c]) + 1e-45,
                            spec + " [" + r + "][" + c + "] " + w[r][c] + " -> " + q[c]);
                }
            }
        }
    }

    @Test
    void scaleSearchNeverLosesToMinMax() {
        Random rnd = new Random(4);
        float[] w = new float[64];
        int[] codes = new int[64];
        for (int trial = 0; trial < 300; trial++) {
            for (int i = 0; i < 64; i++) {
                // heavy tails make clipping worthwhile
                w[i] = (float) (rnd.nextGaussian() * (rnd.nextInt(20) == 0 ? 8 : 1));
            }
            for (int bits : new int[] {2, 4, 8}) {
                for (boolean asym : new boolean[] {false, true}) {
                    var plain = GroupQuantizer.quantize(w, 0, 64, bits, asym, ScaleRule.MINMAX, null, 0, codes, 0);
                    var searched = GroupQuantizer.quantize(w, 0, 64, bits, asym, ScaleRule.MSE_SEARCH, null, 0, codes, 0);
                    assertTrue(searched.squaredError() <= plain.squaredError(), bits + " bits asym=" + asym);
                    // The reported error is the error of the codes written.
                    double err = 0;
                    for (int i = 0; i < 64; i++) {
                        double d = w[i] - (double) searched.scale() * (codes[i] - searched.zero());
                        err += d * d;
                    }
                    assertEquals(err, searched.squaredError(), 1e-9 * (1 + err));
                }
            }
        }
    }

    @Test
    void lowerWidthsCostMoreError() {
        float[][] w = weights(6, 256, 5);
        double[][] e = MixedQuantizer.groupErrors(RowSource.of(w), GroupSpec.symmetric(64), ScaleRule.MINMAX, null);
        double[] total = new double[3];
        for (int wi = 0; wi < 3; wi++) {
            for (double v : e[wi]) {
                total[wi] += v;
            }
        }
        assertTrue(total[0] > total[1] && total[1] > total[2], java.util.Arrays.toString(total));
    }

    @Test
    void groupErrorsAreTheErrorsOfTheBuiltMatrix() {
        float[][] w = weights(4, 192, 6);
        GroupSpec spec = GroupSpec.asymmetric(64);
        int groups = 3;
        double[][] e = MixedQuantizer.groupErrors(RowSource.of(w), spec, ScaleRule.MINMAX, null);
        byte[] widths = {2, 4, 8, 8, 2, 4, 4, 4, 2, 2, 8, 2};
        MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(w), spec, widths);
        for (int r = 0; r < 4; r++) {
            float[] q = new float[192];
            m.dequantizeRow(r, q, 0);
            for (int gi = 0; gi < groups; gi++) {
                double err = 0;
                for (int c = gi * 64; c < gi * 64 + 64; c++) {
                    err += (double) (w[r][c] - q[c]) * (w[r][c] - q[c]);
                }
                int wi = Integer.numberOfTrailingZeros(widths[r * groups + gi]) - 1;
                assertEquals(e[wi][r * groups + gi], err, 1e-6 * err + 1e-30, "row " + r + " group " + gi);
            }
        }
    }

    @Test
    void outliersAreKeptAndDoNotWidenTheirGroup() {
        Random rnd = new Random(7);
        float[][] w = new float[3][128];
        for (float[] row : w) {
            for (int i = 0; i < 128; i++) {
                row[i] = (float) (0.01 * rnd.nextGaussian());
            }
        }
        w[1][70] = 5f;   // one huge weight in group 1 of row 1
        w[2][0] = -3f;
        byte[] widths = new byte[3 * 2];
        java.util.Arrays.fill(widths, (byte) 2);
        long[] outliers = MixedQuantizer.largestPerRow(RowSource.of(new float[][] {w[1]}), 1.0 / 128);
        assertArrayEquals(new long[] {70}, outliers);
        long[] flat = {1L * 128 + 70, 2L * 128};
        MixedGroupMatrix with = MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(64), widths, flat, ScaleRule.MINMAX, Arena.ofAuto());
        MixedGroupMatrix without = MixedQuantizer.quantize(RowSource.of(w), GroupSpec.symmetric(64), widths);
        assertEquals(2, with.counts().outliers());
        assertEquals(without.storageBytes() + 2 * 4 + 4 * 4, with.storageBytes()); // entries + row starts
        float[] q = new float[128];
        with.dequantizeRow(1, q, 0);
        assertEquals(5f, q[70], 5f / 1024, "outlier kept at fp16 precision");
        assertTrue(Math.abs(with.scale(1, 1)) < 0.05, "group scale ignores the outlier: " + with.scale(1, 1));
        assertTrue(Math.abs(without.scale(1, 1)) > 1, "without outliers the group scale is set by it: " + without.scale(1, 1));
        with.dequantizeRow(2, q, 0);
        assertEquals(-3f, q[0], 3f / 1024);
    }
}

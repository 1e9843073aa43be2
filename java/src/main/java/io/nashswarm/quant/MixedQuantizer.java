package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.Packing;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.Section;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Map;

/**
 * Builds {@link MixedGroupMatrix} from float rows and a width per group chosen by the caller (the bit
 * allocators), plus optional outliers. Also prices every group at every width for those allocators.
 *
 * <p>Width maps are {@code byte[rows·G]} (G = cols / groupSize) in row-major (row, group) order holding
 * 2, 4 or 8. Outliers are flat indices {@code row·cols + col}: those weights are left out of their group's
 * scale (so one large weight does not coarsen 63 others), coded as 0, and stored as an fp16 correction
 * equal to the weight.
 */
public final class MixedQuantizer {
    private static final ValueLayout.OfShort F16 = RtnQuantizer.F16;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MixedQuantizer() {}

    /** Mixed matrix with min/max scales, no outliers, in an automatic arena. */
    public static MixedGroupMatrix quantize(RowSource src, GroupSpec spec, byte[] widths) {
        return quantize(src, spec, widths, null, ScaleRule.MINMAX, Arena.ofAuto());
    }

    /**
     * @param widths   2, 4 or 8 per group, row-major
     * @param outliers flat indices {@code r·cols + c} kept exactly (fp16), or null
     */
    public static MixedGroupMatrix quantize(RowSource src, GroupSpec spec, byte[] widths, long[] outliers,
                                            ScaleRule rule, Arena arena) {
        return quantize(src, spec, widths, outliers, (r, gi, w, off, n, bits, u, uOff) ->
                GroupQuantizer.quantize(w, off, n, bits, spec.asymmetric(), rule, null, 0, u, uOff), arena);
    }

    /** As above, with the codes of every group chosen by {@code coder} (e.g. GPTQ's, for the same widths and outliers). */
    public static MixedGroupMatrix quantize(RowSource src, GroupSpec spec, byte[] widths, long[] outliers, GroupCoder coder, Arena arena) {
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize();
        spec.check(QuantType.MIXED, cols);
        int groups = cols / g;
        if (widths.length != (long) rows * groups) {
            throw new EngineException("width map has " + widths.length + " entries; a " + rows + "x" + cols + " matrix with groups of "
                    + g + " has " + (long) rows * groups);
        }
        long c2 = 0, c4 = 0, c8 = 0;
        for (int i = 0; i < widths.length; i++) {
            switch (widths[i]) {
                case 2 -> c2++;
                case 4 -> c4++;
                case 8 -> c8++;
                default -> throw new EngineException("invalid width " + widths[i] + " at row " + i / groups + ", group " + i % groups + " (must be 2, 4 or 8)");
            }
        }
        long[] out = sortedOutliers(outliers, rows, cols);
        MixCounts counts = new MixCounts(c2, c4, c8, out.length);
        Map<String, MemorySegment> sections = RtnQuantizer.allocate(arena, QuantType.MIXED.sections(rows, cols, spec, counts));

        // Row offsets in codes follow from the widths (the same rule the matrix uses on load).
        long[] codeOff = new long[rows + 1];
        for (int r = 0; r < rows; r++) {
            long sum = 0;
            for (int gi = 0; gi < groups; gi++) {
                sum += widths[r * groups + gi];
            }
            codeOff[r + 1] = codeOff[r] + sum * g / 8;
        }
        int[] zerosOut = spec.asymmetric() ? new int[rows * groups] : null; // in stored order
        MemorySegment codes = sections.get(Section.CODES), scales = sections.get(Section.SCALES);
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[cols];
            byte[] packed = new byte[cols];
            int cursor = Arrays.binarySearch(out, (long) start * cols);
            cursor = cursor < 0 ? -cursor - 1 : cursor;
            for (int r = start; r < end; r++) {
                src.row(r, w);
                // Outliers leave their group's range: quantize a copy with them set to 0 (exact at every width).
                for (int k = cursor; k < out.length && out[k] < (long) (r + 1) * cols; k++) {
                    w[(int) (out[k] - (long) r * cols)] = 0f;
                }
                int k = 0;
                long at = codeOff[r];
                for (int bits : new int[] {8, 4, 2}) {
                    for (int gi = 0; gi < groups; gi++) {
                        if (widths[r * groups + gi] != bits) {
                            continue;
                        }
                        GroupQuantizer.Result q = coder.code(r, gi, w, gi * g, g, bits, u, 0);
                        scales.set(F16, 2L * ((long) r * groups + k), Float.floatToFloat16(q.scale()));
                        if (zerosOut != null) {
                            zerosOut[r * groups + k] = q.zero();
                        }
                        Packing.pack(bits, u, 0, g, packed, 0);
                        MemorySegment.copy(packed, 0, codes, ValueLayout.JAVA_BYTE, at, g * bits / 8);
                        at += g * bits / 8;
                        k++;
                    }
                }
                while (cursor < out.length && out[cursor] < (long) (r + 1) * cols) {
                    cursor++;
                }
            }
        });
        if (zerosOut != null) {
            // Three regions (all 8-bit zeros, then 4-bit, then 2-bit), each row-major in stored order.
            byte[] z = new byte[(int) sections.get(Section.ZEROS).byteSize()];
            long[] bit = {0, 8 * c8, 8 * c8 + 4 * c4}; // region cursors for widths 8, 4, 2
            for (int r = 0; r < rows; r++) {
                int k = 0;
                for (int wi = 0; wi < 3; wi++) {
                    int bits = 8 >> wi;
                    for (int gi = 0; gi < groups; gi++) {
                        if (widths[r * groups + gi] == bits) {
                            Packing.writeBits(z, bit[wi], bits, zerosOut[r * groups + k++]);
                            bit[wi] += bits;
                        }
                    }
                }
            }
            MemorySegment.copy(z, 0, sections.get(Section.ZEROS), ValueLayout.JAVA_BYTE, 0, z.length);
        }
        byte[] map = new byte[(int) sections.get(Section.MAP).byteSize()];
        for (int i = 0; i < widths.length; i++) {
            int code = switch (widths[i]) {
                case 2 -> 0;
                case 4 -> 1;
                default -> 2;
            };
            map[i >>> 2] |= (byte) (code << (2 * (i & 3)));
        }
        MemorySegment.copy(map, 0, sections.get(Section.MAP), ValueLayout.JAVA_BYTE, 0, map.length);
        if (out.length > 0) {
            writeOutliers(src, out, rows, cols, sections.get(Section.OUTLIER_ROWS), sections.get(Section.OUTLIERS));
        }
        return MixedGroupMatrix.fromSections(rows, cols, spec, sections);
    }

    private static long[] sortedOutliers(long[] outliers, int rows, int cols) {
        if (outliers == null || outliers.length == 0) {
            return new long[0];
        }
        if (cols > 65536) {
            throw new EngineException("outliers need cols <= 65536 (uint16 columns), got " + cols);
        }
        long[] s = outliers.clone();
        Arrays.sort(s);
        for (int i = 0; i < s.length; i++) {
            if (s[i] < 0 || s[i] >= (long) rows * cols) {
                throw new EngineException("outlier index " + s[i] + " is outside the " + rows + "x" + cols + " matrix");
            }
            if (i > 0 && s[i] == s[i - 1]) {
                throw new EngineException("outlier index " + s[i] + " is listed twice");
            }
        }
        return s;
    }

    private static void writeOutliers(RowSource src, long[] out, int rows, int cols, MemorySegment rowStarts, MemorySegment entries) {
        float[] w = new float[src.cols()];
        int k = 0;
        for (int r = 0; r < rows; r++) {
            rowStarts.setAtIndex(I32, r, k);
            boolean read = false;
            for (; k < out.length && out[k] < (long) (r + 1) * cols; k++) {
                if (!read) {
                    src.row(r, w);
                    read = true;
                }
                int c = (int) (out[k] - (long) r * cols);
                entries.set(ValueLayout.JAVA_SHORT_UNALIGNED, 4L * k, (short) c);
                entries.set(F16, 4L * k + 2, Float.floatToFloat16(w[c]));
            }
        }
        rowStarts.setAtIndex(I32, rows, k);
    }

    /**
     * The squared error of every group at every width, for allocators: {@code result[wi][r·G + gi]} with
     * {@code wi} 0, 1, 2 for 2, 4, 8 bits.
     *
     * @param importance per-column weights (e.g. mean squared activation per input channel), or null
     */
    public static double[][] groupErrors(RowSource src, GroupSpec spec, ScaleRule rule, float[] importance) {
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize(), groups = cols / g;
        spec.check(QuantType.MIXED, cols);
        if (importance != null && importance.length != cols) {
            throw new EngineException("importance has " + importance.length + " entries for " + cols + " columns");
        }
        double[][] err = new double[3][rows * groups];
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[g];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    for (int wi = 0; wi < 3; wi++) {
                        err[wi][r * groups + gi] = GroupQuantizer.quantize(w, gi * g, g, 2 << wi, spec.asymmetric(), rule,
                                importance, gi * g, u, 0).squaredError();
                    }
                }
            }
        });
        return err;
    }

    /**
     * As {@link #groupErrors}, but each group's error is the output error it causes, {@code eᵀ·H_g·e} with
     * {@code e} the group's round-to-nearest error and {@code H_g} the group's diagonal block of the input
     * Hessian (couplings between groups are left out, so the allocation stays separable).
     */
    public static double[][] groupOutputErrors(RowSource src, GroupSpec spec, Hessian h) {
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize(), groups = cols / g;
        spec.check(QuantType.MIXED, cols);
        if (h.cols() != cols) {
            throw new EngineException("Hessian has " + h.cols() + " columns for a matrix of " + cols);
        }
        double[][] err = new double[3][rows * groups];
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            int[] u = new int[g];
            double[] e = new double[g];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    for (int wi = 0; wi < 3; wi++) {
                        GroupQuantizer.Result q = GroupQuantizer.quantize(w, gi * g, g, 2 << wi, spec.asymmetric(), ScaleRule.MINMAX, null, 0, u, 0);
                        for (int i = 0; i < g; i++) {
                            e[i] = w[gi * g + i] - (double) q.scale() * (u[i] - q.zero());
                        }
                        err[wi][r * groups + gi] = h.quadratic(e, 0, gi * g, g);
                    }
                }
            }
        });
        return err;
    }

    /** The {@code fraction} largest-magnitude weights of each row as flat outlier indices (a simple baseline). */
    public static long[] largestPerRow(RowSource src, double fraction) {
        int rows = src.rows(), cols = src.cols();
        int k = (int) Math.round(fraction * cols);
        long[] out = new long[rows * k];
        float[] w = new float[cols];
        Integer[] idx = new Integer[cols];
        for (int r = 0; r < rows; r++) {
            src.row(r, w);
            for (int c = 0; c < cols; c++) {
                idx[c] = c;
            }
            Arrays.sort(idx, (a, b) -> Float.compare(Math.abs(w[b]), Math.abs(w[a])));
            for (int j = 0; j < k; j++) {
                out[r * k + j] = (long) r * cols + idx[j];
            }
        }
        return out;
    }
}

package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.PerWeightMixedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.Section;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Builds {@link PerWeightMixedMatrix} from float rows and a width per weight (2, 4 or 8, row-major
 * {@code byte[rows·cols]}). Within each group, the weights of one width are quantized together as a
 * symmetric sub-group with their own fp16 scale ({@link GroupQuantizer}).
 */
public final class PerWeightQuantizer {
    private PerWeightQuantizer() {}

    public static PerWeightMixedMatrix quantize(RowSource src, GroupSpec spec, byte[] widths, ScaleRule rule, Arena arena) {
        int rows = src.rows(), cols = src.cols(), g = spec.groupSize(), groups = cols / g;
        spec.check(QuantType.PERWEIGHT, cols);
        if (widths.length != (long) rows * cols) {
            throw new EngineException("width map has " + widths.length + " entries for a " + rows + "x" + cols + " matrix");
        }
        long n2 = 0, n4 = 0, n8 = 0;
        for (int i = 0; i < widths.length; i++) {
            switch (widths[i]) {
                case 2 -> n2++;
                case 4 -> n4++;
                case 8 -> n8++;
                default -> throw new EngineException("invalid width " + widths[i] + " for weight " + i + " (must be 2, 4 or 8)");
            }
        }
        MixCounts counts = new MixCounts(n2, n4, n8, 0);
        Map<String, MemorySegment> sections = RtnQuantizer.allocate(arena, QuantType.PERWEIGHT.sections(rows, cols, spec, counts));
        MemorySegment scales = sections.get(Section.SCALES);

        // Codes per weight in parallel (rows are independent), then packed sequentially: rows share bytes
        // at the region boundaries, so the packing cannot be split by rows.
        byte[] u = new byte[widths.length];
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            float[] sub = new float[g];
            int[] subCodes = new int[g];
            int[] pos = new int[g];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                for (int gi = 0; gi < groups; gi++) {
                    for (int k = 0; k < 3; k++) {
                        int bits = 2 << k, n = 0;
                        for (int c = gi * g; c < (gi + 1) * g; c++) {
                            if (widths[r * cols + c] == bits) {
                                sub[n] = w[c];
                                pos[n++] = c;
                            }
                        }
                        float s = 0f;
                        if (n > 0) {
                            s = GroupQuantizer.quantize(sub, 0, n, bits, false, rule, null, 0, subCodes, 0).scale();
                            for (int i = 0; i < n; i++) {
                                u[r * cols + pos[i]] = (byte) subCodes[i];
                            }
                        }
                        scales.set(RtnQuantizer.F16, 2 * (3 * ((long) r * groups + gi) + k), Float.floatToFloat16(s));
                    }
                }
            }
        });

        byte[] map = new byte[(int) sections.get(Section.MAP).byteSize()];
        byte[] codes = new byte[(int) sections.get(Section.CODES).byteSize()];
        long i8 = 0, i4 = n8 * 2L, i2 = (n8 + (n4 + 1) / 2) * 4L; // cursors in units of the width's fields
        for (int i = 0; i < widths.length; i++) {
            int code = u[i] & 0xFF;
            switch (widths[i]) {
                case 8 -> {
                    codes[(int) i8++] = (byte) code;
                    map[i >>> 2] |= (byte) (2 << (2 * (i & 3)));
                }
                case 4 -> {
                    codes[(int) (i4 >>> 1)] |= (byte) (code << (4 * (int) (i4 & 1)));
                    i4++;
                    map[i >>> 2] |= (byte) (1 << (2 * (i & 3)));
                }
                default -> {
                    codes[(int) (i2 >>> 2)] |= (byte) (code << (2 * (int) (i2 & 3)));
                    i2++;
                }
            }
        }
        MemorySegment.copy(map, 0, sections.get(Section.MAP), ValueLayout.JAVA_BYTE, 0, map.length);
        MemorySegment.copy(codes, 0, sections.get(Section.CODES), ValueLayout.JAVA_BYTE, 0, codes.length);
        return PerWeightMixedMatrix.fromSections(rows, cols, spec, sections);
    }
}

package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * bitsandbytes FP4: 4-bit {@link Fp4} codes with an fp16 absmax scale per group, {@code w = s·T[u]}.
 * Sections and kernel are NF4's with the FP4 table in place of the NormalFloat one.
 */
public final class FP4Matrix extends CodebookMatrix {
    private FP4Matrix(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(QuantType.FP4, rows, cols, spec, sections, Fp4.CODEBOOK, Fp4.CODEC);
    }

    /** Wraps existing sections without copying; checks every size first. */
    public static FP4Matrix fromSections(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        checkShape(QuantType.FP4, rows, cols);
        return new FP4Matrix(rows, cols, spec, sections);
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        for (int t = 0; t < 4; t++) {
            out[t] = rowDot(r, new Input(x, xb[t], null, null, null), scratch);
        }
    }
}

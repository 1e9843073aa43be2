package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * bitsandbytes FP4: 4-bit {@link Fp4} codes with an fp16 absmax scale per group, {@code w = s·T[u]}.
 * Sections and kernel are NF4's ({@link NF4Matrix}) with the FP4 table in place of the NormalFloat one.
 */
public final class FP4Matrix extends PackedMatrix {
    private final MemorySegment codes, scales;
    private final long rowBytes;

    private FP4Matrix(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(QuantType.FP4, rows, cols, spec, null, sections);
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.rowBytes = cols / 2;
    }

    /** Wraps existing sections without copying; checks every size first. */
    public static FP4Matrix fromSections(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        checkShape(QuantType.FP4, rows, cols);
        return new FP4Matrix(rows, cols, spec, sections);
    }

    @Override
    boolean needsGroupSums() {
        return false;
    }

    @Override
    boolean decodesOncePerTile() {
        return false; // as NF4: one row kernel per vector, the row still in cache
    }

    @Override
    Input prepare(float[] x, int off) {
        return new Input(x, off, null, null, null);
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        return PackedKernels.dotCodebook4(Fp4.CODEBOOK, codes, r * rowBytes, groupsPerRow, scales, 2 * firstGroup(r), 2 * groupStep(), g,
                in.x(), in.off());
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        for (int t = 0; t < 4; t++) {
            out[t] = rowDot(r, new Input(x, xb[t], null, null, null), scratch);
        }
    }

    /** Absmax scale of group {@code gi} of row {@code r}. */
    public float scale(int r, int gi) {
        return PackedKernels.f16(scales, 2 * (firstGroup(r) + gi * groupStep()));
    }

    /** FP4 code of weight (r, c). */
    public int code(int r, int c) {
        return Packing.code(codes, r * rowBytes, 4, c);
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        for (int gi = 0; gi < groupsPerRow; gi++) {
            float s = scale(r, gi);
            for (int c = gi * g; c < (gi + 1) * g; c++) {
                out[off + c] = s * Fp4.value(code(r, c));
            }
        }
    }
}

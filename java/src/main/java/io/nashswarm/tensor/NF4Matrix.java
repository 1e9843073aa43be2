package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/** QLoRA NF4: 4-bit indices into the {@link NormalFloat4} codebook with an fp16 absmax scale per group. */
public final class NF4Matrix extends CodebookMatrix {
    private NF4Matrix(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(QuantType.NF4, rows, cols, spec, sections, NormalFloat4.CODEBOOK, NormalFloat4.CODEC);
    }

    /** Wraps existing sections without copying; checks every size first. */
    public static NF4Matrix fromSections(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        checkShape(QuantType.NF4, rows, cols);
        return new NF4Matrix(rows, cols, spec, sections);
    }

    private GroupRun run(int r) {
        return new GroupRun(codes, r * rowBytes, groupsPerRow, scales, 2 * firstGroup(r), 2 * groupStep(), null, 0, 0, 0f, null, 0);
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        PackedKernels.dot4x(0, run(r), g, x, xb, xsum, xs, out);
    }
}

package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * QLoRA NF4: 4-bit indices into the {@link NormalFloat4} codebook with an fp16 absmax scale per group,
 * {@code w = s·T[u]}.
 *
 * <h2>Sections</h2>
 * <ul>
 *   <li>{@code codes}: {@code rows·cols/2} bytes, the 4-bit unit layout of {@link Packing}.</li>
 *   <li>{@code scales}: fp16 absmax per group, row-major (or one for a per-tensor spec).</li>
 * </ul>
 * The kernel looks codes up with two 8-entry permutes and a blend; that costs about twice an int4
 * decode (measured), which is the price of a non-uniform grid.
 */
public final class NF4Matrix extends PackedMatrix {
    private final MemorySegment codes, scales;
    private final long rowBytes;

    private NF4Matrix(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(QuantType.NF4, rows, cols, spec, null, sections);
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.rowBytes = cols / 2;
    }

    /** Wraps existing sections without copying; checks every size first. */
    public static NF4Matrix fromSections(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        checkShape(QuantType.NF4, rows, cols);
        return new NF4Matrix(rows, cols, spec, sections);
    }

    @Override
    boolean needsGroupSums() {
        return false;
    }

    @Override
    boolean decodesOncePerTile() {
        // The four-vector float kernel (PackedKernels.batchNf4) is too large for C2 to inline its codebook
        // and dot helpers: JFR showed boxed vectors making 91% of the heap garbage and prefill no faster
        // than decode. One row kernel per vector, with the row still in cache, is both.
        return false;
    }

    @Override
    Input prepare(float[] x, int off) {
        return new Input(x, off, null, null, null);
    }

    private GroupRun run(int r) {
        return new GroupRun(codes, r * rowBytes, groupsPerRow, scales, 2 * firstGroup(r), 2 * groupStep(), null, 0, 0, 0f, null, 0);
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        return PackedKernels.dotNf4(codes, r * rowBytes, groupsPerRow, scales, 2 * firstGroup(r), 2 * groupStep(), g, in.x(), in.off());
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        PackedKernels.dot4x(0, run(r), g, x, xb, xsum, xs, out);
    }

    /** Absmax scale of group {@code gi} of row {@code r}. */
    public float scale(int r, int gi) {
        return PackedKernels.f16(scales, 2 * (firstGroup(r) + gi * groupStep()));
    }

    /** Codebook index of weight (r, c). */
    public int code(int r, int c) {
        return Packing.code(codes, r * rowBytes, 4, c);
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        for (int gi = 0; gi < groupsPerRow; gi++) {
            float s = scale(r, gi);
            for (int c = gi * g; c < (gi + 1) * g; c++) {
                out[off + c] = s * NormalFloat4.value(code(r, c));
            }
        }
    }
}

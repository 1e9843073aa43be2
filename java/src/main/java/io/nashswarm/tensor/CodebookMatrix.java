package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * 4-bit indices into a fixed 16-entry table of levels with an fp16 absmax scale per group,
 * {@code w = s·T[u]}: NF4 and FP4, which differ only in their table (and NF4's batch kernel).
 *
 * <h2>Sections</h2>
 * <ul>
 *   <li>{@code codes}: {@code rows·cols/2} bytes, the 4-bit unit layout of {@link Packing}.</li>
 *   <li>{@code scales}: fp16 absmax per group, row-major (or one for a per-tensor spec).</li>
 * </ul>
 * With 512-bit vectors the kernel looks 16 codes up with one permute of the whole table ({@link
 * PackedKernels#dotCodebook16}); with 256-bit ones, 8 codes with two 8-entry permutes and a blend.
 */
public abstract sealed class CodebookMatrix extends PackedMatrix permits NF4Matrix, FP4Matrix {
    final MemorySegment codes, scales;
    final long rowBytes;
    private final float[] table;
    private final Codec.Codebook codec;

    /**
     * @param table the kernel's 16 entries (the levels, padded for unused codes)
     * @param codec the levels, for dequantization
     */
    CodebookMatrix(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections,
                   float[] table, Codec.Codebook codec) {
        super(type, rows, cols, spec, null, sections);
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.rowBytes = cols / 2;
        this.table = table;
        this.codec = codec;
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
        return PackedKernels.CODEBOOK_512 ? new Input(PackedKernels.nibbleOrder(x, off, cols), 0, null, null, null) : new Input(x, off, null, null, null);
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        if (PackedKernels.CODEBOOK_512) {
            return PackedKernels.dotCodebook16(table, codes, r * rowBytes, groupsPerRow, scales, 2 * firstGroup(r), 2 * groupStep(), g, in.x());
        }
        return PackedKernels.dotCodebook4(table, codes, r * rowBytes, groupsPerRow, scales, 2 * firstGroup(r), 2 * groupStep(), g,
                in.x(), in.off());
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
                out[off + c] = s * codec.value(code(r, c));
            }
        }
    }
}

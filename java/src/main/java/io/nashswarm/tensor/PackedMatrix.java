package io.nashswarm.tensor;

import io.nashswarm.EngineException;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A weight matrix whose weights stay packed (integer codes or codebook indices with fp16 scales) and
 * whose kernels compute on the packed bits; see {@link Packing} for the code layout.
 *
 * <h2>Storage contract (for file formats)</h2>
 * A packed matrix is fully described by
 * <ul>
 *   <li>its {@link QuantType} label, {@code rows} and {@code cols};</li>
 *   <li>its {@link GroupSpec}: {@code groupSize} and {@link GroupSpec#flags() flags};</li>
 *   <li>its named byte sections ({@link #sections()}), in the order and with the sizes that
 *       {@link QuantType#sections(int, int, GroupSpec, MixCounts)} gives. Sections are plain little-endian
 *       byte arrays with no alignment requirement and no internal pointers; they may be slices of one
 *       memory-mapped file.</li>
 * </ul>
 * A writer stores those and the bytes of each section; a reader maps each section and calls
 * {@link Matrices#packed}, which checks every size before any kernel touches memory.
 * {@link #storageBytes()} is the sum of the section sizes: every code, scale, zero, map entry and
 * outlier is counted, and nothing else is stored (row offsets a kernel needs are recomputed on load).
 *
 * <p>Matrix products split rows across threads ({@link io.nashswarm.kernel.Parallel}); each call prepares
 * its input once ({@link Input}: group sums for the float kernels, the input quantized to 16-bit integers
 * for the integer kernels of 4- and 2-bit codes), then streams the codes of its rows.
 */
public abstract sealed class PackedMatrix implements WeightMatrix permits IntGroupMatrix, CodebookMatrix, MixedGroupMatrix, PerWeightMixedMatrix {
    final QuantType type;
    final int rows, cols;
    final GroupSpec spec;
    /** Group size and groups per row (per-tensor specs: one "group" per row for the kernels). */
    final int g, groupsPerRow;
    private final SequencedMap<String, MemorySegment> sections;

    PackedMatrix(QuantType type, int rows, int cols, GroupSpec spec, MixCounts mix, Map<String, MemorySegment> given) {
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.spec = spec;
        this.g = spec.groupSize();
        this.groupsPerRow = cols / g;
        this.sections = checkSections(type, rows, cols, spec, mix, given);
    }

    /** The sections a {@code type} matrix must have, in order, each checked for size; extra names are refused. */
    static SequencedMap<String, MemorySegment> checkSections(QuantType type, int rows, int cols, GroupSpec spec,
                                                             MixCounts mix, Map<String, MemorySegment> given) {
        String what = type.label() + " " + rows + "x" + cols + " " + spec;
        List<Section> need = type.sections(rows, cols, spec, mix);
        SequencedMap<String, MemorySegment> out = new LinkedHashMap<>();
        for (Section s : need) {
            MemorySegment seg = given.get(s.name());
            if (seg == null) {
                throw new EngineException(what + ": section '" + s.name() + "' is missing");
            }
            if (seg.byteSize() != s.bytes()) {
                throw new EngineException(what + ": section '" + s.name() + "' has " + seg.byteSize() + " bytes, expected " + s.bytes());
            }
            out.put(s.name(), seg);
        }
        for (String name : given.keySet()) {
            if (!out.containsKey(name)) {
                throw new EngineException(what + ": unexpected section '" + name + "'");
            }
        }
        return Collections.unmodifiableSequencedMap(out);
    }

    static void checkShape(QuantType type, int rows, int cols) {
        if (rows < 1 || cols < 1) {
            throw new EngineException(type.label() + " matrix must be at least 1x1, got " + rows + "x" + cols);
        }
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public QuantType type() { return type; }
    public GroupSpec spec() { return spec; }

    /** Per-width counts of a type with {@link QuantType#hasMixCounts()}, else null. */
    public MixCounts counts() { return null; }

    /** The named byte sections, in storage order. */
    public SequencedMap<String, MemorySegment> sections() {
        return sections;
    }

    @Override
    public long storageBytes() {
        return sections.values().stream().mapToLong(MemorySegment::byteSize).sum();
    }

    /**
     * What the kernels need of one input vector, computed once per product and thread: the vector
     * itself, the per-group sums of x (float kernels of integer codes with a zero point), and the vector
     * quantized for the integer kernels of 4- and 2-bit codes ({@link IntKernels}); fields a matrix
     * does not use are null.
     */
    record Input(float[] x, int off, float[] groupSums, QuantizedInput q4, QuantizedInput q2) {}

    /** Prepares {@code x[off .. off + cols)} for this matrix's kernels. */
    abstract Input prepare(float[] x, int off);

    /** Per-call scratch (row-sized), or null. */
    Object scratch() {
        return null;
    }

    /** Dot product of row {@code r} with a prepared input. */
    abstract float rowDot(int r, Input in, Object scratch);

    /**
     * Whether a batch goes through {@link #rowDot4} (float kernels that decode each row once for four
     * vectors) rather than one {@link #rowDot} per vector (integer kernels, whose decoding is a small
     * part of their work; the row stays in cache between vectors, so memory is still read once).
     */
    abstract boolean decodesOncePerTile();

    /**
     * Dot products of row {@code r} with four vectors at {@code x[xb[t]..]} whose group sums (if the
     * kernels use them) are at {@code xsum[xs[t]..]}, into {@code out[0..3]} ({@link PackedKernels#dot4x}).
     */
    abstract void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch);

    /** Whether the float kernels of this matrix need the per-group sums of x (integer codes with a zero point). */
    abstract boolean needsGroupSums();

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        Input in = prepare(x, 0);
        Object scratch = scratch();
        for (int r = rowStart; r < rowEnd; r++) {
            y[r] = rowDot(r, in, scratch);
        }
    }

    /** Reads each row's codes from memory once per batch. */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        if (n == 1) {
            matvec(x, y, rowStart, rowEnd);
            return;
        }
        Object scratch = scratch();
        if (!decodesOncePerTile()) {
            Input[] in = new Input[n];
            for (int b = 0; b < n; b++) {
                in[b] = prepare(x, b * cols);
            }
            for (int r = rowStart; r < rowEnd; r++) {
                for (int b = 0; b < n; b++) {
                    y[b * rows + r] = rowDot(r, in[b], scratch);
                }
            }
            return;
        }
        float[] xsum = null;
        if (needsGroupSums()) {
            xsum = new float[n * groupsPerRow];
            for (int b = 0; b < n; b++) {
                PackedKernels.groupSums(x, b * cols, cols, g, xsum, b * groupsPerRow);
            }
        }
        int[] xb = new int[4], xs = new int[4];
        float[] out = new float[4];
        for (int r = rowStart; r < rowEnd; r++) {
            for (int b0 = 0; b0 < n; b0 += 4) {
                for (int t = 0; t < 4; t++) {
                    int b = Math.min(b0 + t, n - 1); // short last tile: repeat its last vector
                    xb[t] = b * cols;
                    xs[t] = b * groupsPerRow;
                }
                rowDot4(r, x, xb, xsum, xs, out, scratch);
                for (int t = 0; t < 4 && b0 + t < n; t++) {
                    y[(b0 + t) * rows + r] = out[t];
                }
            }
        }
    }

    /** Index of row {@code r}'s first group among the per-group scales and zeros (0: one for the whole tensor). */
    final long firstGroup(int r) {
        return spec.perTensor() ? 0 : (long) r * groupsPerRow;
    }

    /** Groups between one group's scale or zero and the next: 1, or 0 for a per-tensor spec. */
    final int groupStep() {
        return spec.perTensor() ? 0 : 1;
    }

    /** Group sums of {@code x[off .. off + cols)}. */
    final float[] groupSums(float[] x, int off) {
        float[] xsum = new float[groupsPerRow];
        PackedKernels.groupSums(x, off, cols, g, xsum, 0);
        return xsum;
    }

    @Override
    public String toString() {
        return type.label() + " " + rows + "x" + cols + " " + spec + String.format(" (%.4f bits/weight)", bitsPerWeight());
    }
}

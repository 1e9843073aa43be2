package io.nashswarm.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The table of weight storage types and their traits, in the spirit of ggml's type_traits: adding a
 * type means adding a row here and a {@link WeightMatrix} implementation, not editing switches.
 *
 * <p>{@code blockSize} weights are stored in {@code bytesPerBlock} bytes, scales included, so
 * {@code bitsPerWeight} is the real storage cost. {@code ggmlId} is the GGUF/ggml type id, or -1
 * when GGUF has no such type. {@code codeBits} is the width of one stored code (0: it varies per group).
 *
 * <p>Packed types ({@link #isPacked()}) are stored as named byte sections (see {@link PackedMatrix})
 * whose sizes depend on the matrix shape and a {@link GroupSpec}; their {@code blockSize} and
 * {@code bytesPerBlock} describe the default spec (symmetric, groups of 64) only. Their real sizes come
 * from {@link #sections(int, int, GroupSpec, MixCounts)}, the one place the project computes them:
 * the matrices check their sections against it, and size reports and allocators predict with it.
 */
public enum QuantType {
    //    name     block bytes ggml  bits  sections
    F32  ("f32",      1,   4,    0,   32, null),
    F16  ("f16",      1,   2,    1,   16, null),
    BF16 ("bf16",     1,   2,   30,   16, null),
    Q8_0 ("q8_0",    32,  34,    8,    8, null),
    Q4_0 ("q4_0",    32,  18,    2,    4, null),
    INT8 ("int8",    64,  66,   -1,    8, QuantType::intGroupSections),
    INT4 ("int4",    64,  34,   -1,    4, QuantType::intGroupSections),
    INT2 ("int2",    64,  18,   -1,    2, QuantType::intGroupSections),
    NF4  ("nf4",     64,  34,   -1,    4, QuantType::nf4Sections),
    FP4  ("fp4",     64,  34,   -1,    4, QuantType::nf4Sections), // bitsandbytes fp4: same sections as NF4, another table
    MIXED("mixed",   64,   0,   -1,    0, QuantType::mixedSections),
    PERWEIGHT("perweight", 64, 0, -1,  0, QuantType::perWeightSections);

    /** Computes the section sizes of a packed type; {@code mix} is null for uniform types. */
    @FunctionalInterface
    private interface SectionRule {
        List<Section> sizes(QuantType type, int rows, int cols, GroupSpec spec, MixCounts mix);
    }

    private final String label;
    private final int blockSize;
    private final int bytesPerBlock;
    private final int ggmlId;
    private final int codeBits;
    private final SectionRule sectionRule;

    QuantType(String label, int blockSize, int bytesPerBlock, int ggmlId, int codeBits, SectionRule sectionRule) {
        this.label = label;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
        this.ggmlId = ggmlId;
        this.codeBits = codeBits;
        this.sectionRule = sectionRule;
    }

    public String label() { return label; }
    public int blockSize() { return blockSize; }
    public int bytesPerBlock() { return bytesPerBlock; }
    public int ggmlId() { return ggmlId; }
    /** Bits of one stored code: 32/16 for floats, 8/4/2 for integer codes, 0 when it varies per group or weight (mixed types). */
    public int codeBits() { return codeBits; }
    /** True for types stored as named sections with a {@link GroupSpec} (see {@link PackedMatrix}). */
    public boolean isPacked() { return sectionRule != null; }
    /** True for packed types whose widths vary inside a matrix, so sizes need the per-width {@link MixCounts}. */
    public boolean hasMixCounts() { return isPacked() && codeBits == 0; }

    /** Bits per weight; for packed types at the default spec (symmetric, g64); NaN for mixed (it varies). */
    public double bitsPerWeight() {
        return bytesPerBlock == 0 ? Double.NaN : 8.0 * bytesPerBlock / blockSize;
    }

    /** Bytes needed to store {@code count} weights; {@code count} must be a multiple of the block size. */
    public long bytesFor(long count) {
        if (isPacked()) {
            throw new IllegalArgumentException(label + " sizes depend on the matrix shape and group spec; use bytesFor(rows, cols, spec)");
        }
        if (count % blockSize != 0) {
            throw new IllegalArgumentException(count + " weights is not a multiple of the " + label + " block size " + blockSize);
        }
        return count / blockSize * bytesPerBlock;
    }

    /** Section sizes of a uniform packed type (everything but {@link #MIXED}). */
    public List<Section> sections(int rows, int cols, GroupSpec spec) {
        return sections(rows, cols, spec, null);
    }

    /**
     * Section sizes, in storage order, of a {@code rows × cols} matrix of this packed type. Sections of
     * size 0 (zeros of a symmetric matrix, outliers when there are none) are left out.
     *
     * @param mix group counts per width and outlier count; required for {@link #MIXED}, else ignored
     * @throws io.nashswarm.EngineException when the spec does not fit the shape or type
     */
    public List<Section> sections(int rows, int cols, GroupSpec spec, MixCounts mix) {
        if (!isPacked()) {
            throw new IllegalArgumentException(label + " is not a packed type; it has one section of bytesFor(rows*cols) bytes");
        }
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException(label + " matrix must have rows and cols >= 1, got " + rows + "x" + cols);
        }
        spec.check(this, cols);
        List<Section> all = sectionRule.sizes(this, rows, cols, spec, mix);
        List<Section> kept = new ArrayList<>();
        for (Section s : all) {
            if (s.bytes() > 0) {
                kept.add(s);
            }
        }
        return List.copyOf(kept);
    }

    /** Total bytes of a uniform packed type: the sum of its sections. */
    public long bytesFor(int rows, int cols, GroupSpec spec) {
        return bytesFor(rows, cols, spec, null);
    }

    /** Total bytes of a packed matrix: the sum of its sections. */
    public long bytesFor(int rows, int cols, GroupSpec spec, MixCounts mix) {
        return sections(rows, cols, spec, mix).stream().mapToLong(Section::bytes).sum();
    }

    /** Scale (and zero) entries: one per group, or one for the whole tensor. */
    static long scaleCount(int rows, int cols, GroupSpec spec) {
        return spec.perTensor() ? 1 : (long) rows * (cols / spec.groupSize());
    }

    private static List<Section> intGroupSections(QuantType t, int rows, int cols, GroupSpec spec, MixCounts mix) {
        long n = scaleCount(rows, cols, spec);
        return List.of(
                new Section(Section.CODES, (long) rows * cols * t.codeBits / 8),
                new Section(Section.SCALES, 2 * n),
                new Section(Section.ZEROS, spec.asymmetric() ? ceilDiv(n * t.codeBits, 8) : 0));
    }

    private static List<Section> nf4Sections(QuantType t, int rows, int cols, GroupSpec spec, MixCounts mix) {
        return List.of(
                new Section(Section.CODES, (long) rows * cols / 2),
                new Section(Section.SCALES, 2 * scaleCount(rows, cols, spec)));
    }

    private static List<Section> mixedSections(QuantType t, int rows, int cols, GroupSpec spec, MixCounts mix) {
        if (mix == null) {
            throw new IllegalArgumentException("mixed sizes need the group counts per width (MixCounts)");
        }
        long groups = (long) rows * (cols / spec.groupSize());
        if (mix.groups() != groups) {
            throw new IllegalArgumentException("mixed " + rows + "x" + cols + " g" + spec.groupSize() + " has " + groups
                    + " groups but the counts add up to " + mix.groups());
        }
        long widthSum = mix.widthSum();
        return List.of(
                new Section(Section.MAP, ceilDiv(groups * 2, 8)),
                new Section(Section.CODES, widthSum * spec.groupSize() / 8),
                new Section(Section.SCALES, 2 * groups),
                new Section(Section.ZEROS, spec.asymmetric() ? ceilDiv(widthSum, 8) : 0),
                new Section(Section.OUTLIER_ROWS, mix.outliers() > 0 ? 4L * (rows + 1) : 0),
                new Section(Section.OUTLIERS, 4 * mix.outliers()));
    }

    /**
     * Per-weight widths ({@link PerWeightMixedMatrix}). Here {@code mix} counts WEIGHTS of each width, not
     * groups: the codes take {@code n8 + ⌈n4/2⌉ + ⌈n2/4⌉} bytes (one region per width), the map 2 bits per
     * weight, and every group three fp16 scales (one per width, 0 when the width is absent).
     */
    private static List<Section> perWeightSections(QuantType t, int rows, int cols, GroupSpec spec, MixCounts mix) {
        if (mix == null) {
            throw new IllegalArgumentException("per-weight sizes need the weight counts per width (MixCounts)");
        }
        if (spec.asymmetric() || spec.perTensor()) {
            throw new io.nashswarm.EngineException("a per-weight mixed matrix is symmetric with a scale per group and width; " + spec + " is not supported");
        }
        long weights = (long) rows * cols;
        if (mix.groups() != weights || mix.outliers() != 0) {
            throw new IllegalArgumentException("per-weight " + rows + "x" + cols + " has " + weights + " weights but the counts add up to "
                    + mix.groups() + (mix.outliers() != 0 ? " (and outliers are not supported)" : ""));
        }
        return List.of(
                new Section(Section.MAP, ceilDiv(weights * 2, 8)),
                new Section(Section.CODES, mix.groups8() + ceilDiv(mix.groups4(), 2) + ceilDiv(mix.groups2(), 4)),
                new Section(Section.SCALES, 2 * 3 * scaleCount(rows, cols, spec)));
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    public static Optional<QuantType> byGgmlId(int id) {
        return Arrays.stream(values()).filter(t -> t.ggmlId == id && id >= 0).findFirst();
    }

    public static Optional<QuantType> byLabel(String label) {
        return Arrays.stream(values()).filter(t -> t.label.equalsIgnoreCase(label)).findFirst();
    }
}

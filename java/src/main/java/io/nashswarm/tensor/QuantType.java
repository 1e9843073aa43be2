package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The table of weight storage types and their traits, in the spirit of ggml's type_traits. Each row
 * says how the type is sized, how its matrix opens from stored bytes ({@link #open}), how floats
 * encode into it ({@link #codec()}, {@link #encodeRow}) and which GGUF type and llama.cpp file type name
 * it. Adding a type means adding a row here, its {@link WeightMatrix} class (the kernel) and its codec;
 * loaders, writers, quantizers and reports call the row instead of switching over types.
 *
 * <p>{@code blockSize} weights are stored in {@code bytesPerBlock} bytes, scales included, so
 * {@code bitsPerWeight} is the real storage cost. {@code ggmlId} is the GGUF/ggml type id, or -1
 * when GGUF has no such type; {@code llamaFtype} is llama.cpp's {@code general.file_type} for a file
 * mostly of this type, or -1. {@code codeBits} is the width of one stored code (0: it varies per group).
 *
 * <p>Packed types ({@link #isPacked()}) are stored as named byte sections (see {@link PackedMatrix})
 * whose sizes depend on the matrix shape and a {@link GroupSpec}; their {@code blockSize} and
 * {@code bytesPerBlock} describe the default spec (symmetric, groups of 64) only. Their real sizes come
 * from {@link #sections(int, int, GroupSpec, MixCounts)}, the one place the project computes them:
 * the matrices check their sections against it, and size reports and allocators predict with it.
 */
public enum QuantType {
    //    name     block bytes ggml ftype bits  how it opens                              codec
    F32  ("f32",      1,   4,    0,   0,  32, (d, r, c, layout) -> new F32Matrix(d, r, c, layout), (Codec.Rows) RowCodecs::f32),
    F16  ("f16",      1,   2,    1,   1,  16, (d, r, c, layout) -> new F16Matrix(d, r, c, layout), (Codec.Rows) RowCodecs::f16),
    BF16 ("bf16",     1,   2,   30,  32,  16, (d, r, c, layout) -> new BF16Matrix(d, r, c, layout), (Codec.Rows) RowCodecs::bf16),
    Q8_0 ("q8_0",    32,  34,    8,   7,   8, (d, r, c, layout) -> new Q8_0Matrix(d, r, c), (Codec.Rows) RowCodecs::q8_0),
    Q4_0 ("q4_0",    32,  18,    2,   2,   4, (d, r, c, layout) -> new Q4_0Matrix(d, r, c), (Codec.Rows) RowCodecs::q4_0),
    // llama.cpp's other block types (GgmlBlockMatrix and its subclasses): loaded and run, not produced by the engine.
    Q4_1 ("q4_1",    32,  20,    3,   3,   4, (d, r, c, layout) -> new Q4_1Matrix(d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q5_0 ("q5_0",    32,  22,    6,   8,   5, (d, r, c, layout) -> new Q5Matrix(false, d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q5_1 ("q5_1",    32,  24,    7,   9,   5, (d, r, c, layout) -> new Q5Matrix(true, d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q2_K ("q2_k",   256,  84,   10,  10,   2, (d, r, c, layout) -> new Q2_KMatrix(d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q3_K ("q3_k",   256, 110,   11,  11,   3, (d, r, c, layout) -> new Q3_KMatrix(d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q4_K ("q4_k",   256, 144,   12,  14,   4, (d, r, c, layout) -> new Q4_KMatrix(d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q5_K ("q5_k",   256, 176,   13,  16,   5, (d, r, c, layout) -> new Q5_KMatrix(d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    Q6_K ("q6_k",   256, 210,   14,  18,   6, (d, r, c, layout) -> new Q6_KMatrix(d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    IQ4_NL("iq4_nl", 32,  18,   20,  25,   4, (d, r, c, layout) -> new IQ4Matrix(false, d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    IQ4_XS("iq4_xs",256, 136,   23,  30,   4, (d, r, c, layout) -> new IQ4Matrix(true, d, r, c), GgmlBlockMatrix.LOAD_ONLY),
    //    name     block bytes ggml ftype bits  sections                      how it opens                      codec
    INT8 ("int8",    64,  66,   -1,  -1,   8, QuantType::intGroupSections,  (t, r, c, g, s) -> IntGroupMatrix.fromSections(t, r, c, g, s), new Codec.IntegerGrid()),
    INT4 ("int4",    64,  34,   -1,  -1,   4, QuantType::intGroupSections,  (t, r, c, g, s) -> IntGroupMatrix.fromSections(t, r, c, g, s), new Codec.IntegerGrid()),
    INT2 ("int2",    64,  18,   -1,  -1,   2, QuantType::intGroupSections,  (t, r, c, g, s) -> IntGroupMatrix.fromSections(t, r, c, g, s), new Codec.IntegerGrid()),
    NF4  ("nf4",     64,  34,   -1,  -1,   4, QuantType::nf4Sections,       (t, r, c, g, s) -> NF4Matrix.fromSections(r, c, g, s), NormalFloat4.CODEC),
    FP4  ("fp4",     64,  34,   -1,  -1,   4, QuantType::nf4Sections,       (t, r, c, g, s) -> FP4Matrix.fromSections(r, c, g, s), Fp4.CODEC),
    MIXED("mixed",   64,   0,   -1,  -1,   0, QuantType::mixedSections,     (t, r, c, g, s) -> MixedGroupMatrix.fromSections(r, c, g, s), new Codec.Widths()),
    PERWEIGHT("perweight", 64, 0, -1, -1,  0, QuantType::perWeightSections, (t, r, c, g, s) -> PerWeightMixedMatrix.fromSections(r, c, g, s), new Codec.Widths());

    /** Computes the section sizes of a packed type; {@code mix} is null for uniform types. */
    @FunctionalInterface
    private interface SectionRule {
        List<Section> sizes(QuantType type, int rows, int cols, GroupSpec spec, MixCounts mix);
    }

    // The openers are lambdas, not constructor references: a reference would load every matrix class
    // with this table, and a loaded sibling class makes the JIT treat the kernels' abstract calls as
    // polymorphic; a lambda loads its class on first use, as a switch did.

    /** Wraps one stored segment as the matrix of a dense or GGML type. */
    @FunctionalInterface
    private interface OpenBytes {
        WeightMatrix open(MemorySegment data, int rows, int cols, Layout layout);
    }

    /** Wraps the named sections of a packed type (sizes already checked by the matrix). */
    @FunctionalInterface
    private interface OpenSections {
        PackedMatrix open(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections);
    }

    private final String label;
    private final int blockSize;
    private final int bytesPerBlock;
    private final int ggmlId;
    private final int llamaFtype;
    private final int codeBits;
    private final SectionRule sectionRule;
    private final OpenBytes openBytes;
    private final OpenSections openSections;
    private final Codec codec;

    /** A type stored as one segment (floats, GGML blocks). */
    QuantType(String label, int blockSize, int bytesPerBlock, int ggmlId, int llamaFtype, int codeBits, OpenBytes open, Codec codec) {
        this(label, blockSize, bytesPerBlock, ggmlId, llamaFtype, codeBits, null, open, null, codec);
    }

    /** A packed type, stored as named sections. */
    QuantType(String label, int blockSize, int bytesPerBlock, int ggmlId, int llamaFtype, int codeBits,
              SectionRule sectionRule, OpenSections open, Codec codec) {
        this(label, blockSize, bytesPerBlock, ggmlId, llamaFtype, codeBits, sectionRule, null, open, codec);
    }

    QuantType(String label, int blockSize, int bytesPerBlock, int ggmlId, int llamaFtype, int codeBits,
              SectionRule sectionRule, OpenBytes openBytes, OpenSections openSections, Codec codec) {
        this.label = label;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
        this.ggmlId = ggmlId;
        this.llamaFtype = llamaFtype;
        this.codeBits = codeBits;
        this.sectionRule = sectionRule;
        this.openBytes = openBytes;
        this.openSections = openSections;
        this.codec = codec;
    }

    public String label() { return label; }
    public int blockSize() { return blockSize; }
    public int bytesPerBlock() { return bytesPerBlock; }
    public int ggmlId() { return ggmlId; }
    /** llama.cpp's {@code llama_ftype} for a file mostly of this type, or -1 when llama.cpp has none. */
    public int llamaFtype() { return llamaFtype; }
    /** How floats encode into this type; quantizers dispatch on its kind. */
    public Codec codec() { return codec; }
    /** False for llama.cpp's block types that the engine reads and runs but does not quantize to. */
    public boolean encodable() { return codec != GgmlBlockMatrix.LOAD_ONLY; }
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

    /**
     * Wraps {@code data} (which must hold exactly the matrix) without copying; for the types stored as
     * one segment.
     *
     * @param rows outputs, {@code cols} inputs, whatever the storage layout
     */
    public WeightMatrix open(MemorySegment data, int rows, int cols, Layout layout) {
        if (isPacked()) {
            throw new IllegalArgumentException(label + " is stored as named sections; open it with its sections and group spec");
        }
        long need = bytesFor((long) rows * cols);
        if (data.byteSize() != need) {
            throw new IllegalArgumentException(label + " " + rows + "x" + cols + " needs " + need + " bytes, got " + data.byteSize());
        }
        if (layout == Layout.IN_OUT && blockSize != 1) {
            throw new IllegalArgumentException(label + " cannot be stored [in][out]");
        }
        return openBytes.open(data, rows, cols, layout);
    }

    /**
     * Wraps the named sections of a packed type (see {@link PackedMatrix} for the contract) without
     * copying; every section is checked against {@link #sections} first.
     */
    public PackedMatrix open(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        if (!isPacked()) {
            throw new IllegalArgumentException(label + " is not a packed type; open it from its one segment");
        }
        return openSections.open(this, rows, cols, spec, sections);
    }

    /**
     * Encodes {@code x[off..off+n)} into {@code out} (set to little-endian) with this type's row codec:
     * the float and GGML block types, whose rows encode on their own.
     *
     * @throws IllegalArgumentException when {@code n} is not a multiple of the block size or the type
     *                                  has no row codec (packed types encode whole matrices)
     * @throws io.nashswarm.EngineException when a value cannot be stored (see {@link RowCodecs})
     */
    public void encodeRow(float[] x, int off, int n, ByteBuffer out) {
        if (!(codec instanceof Codec.Rows rows)) {
            throw new IllegalArgumentException(label + " has no row codec: its codes depend on group scales or widths");
        }
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(n + " values is not a multiple of the " + label + " block size " + blockSize);
        }
        rows.encode(x, off, n, out.order(ByteOrder.LITTLE_ENDIAN));
    }

    /**
     * bfloat16 bits of {@code v}, rounded to nearest even on the dropped 16 bits as PyTorch does (exact
     * for values that already are bfloat16; finite values past the largest bfloat16 round to ±Inf);
     * NaN stays NaN (quiet, sign kept). The one float→bf16 conversion of the project.
     */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x0040); // the rounding add would carry into the exponent
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
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

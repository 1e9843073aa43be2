package io.nashswarm.tensor;

import io.nashswarm.EngineException;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * Group-wise integer codes at 8, 4 or 2 bits ({@link QuantType#INT8}, {@link QuantType#INT4},
 * {@link QuantType#INT2}) with fp16 scales: {@code w = s·(u − z)} for the unsigned code {@code u}.
 * Symmetric specs fix {@code z = 2^(bits−1)} (codes −2^(bits−1) .. 2^(bits−1)−1 around zero); asymmetric
 * ones store an integer zero per group at the code width.
 *
 * <h2>Sections</h2>
 * <ul>
 *   <li>{@code codes}: {@code rows·cols·bits/8} bytes, row after row, each row in the unit layout of
 *       {@link Packing} (8-byte units; 8-bit codes stored as {@code u − 128}).</li>
 *   <li>{@code scales}: fp16 little-endian, one per group in row-major (row, group) order
 *       ({@code rows·cols/groupSize} of them), or a single one for a per-tensor spec.</li>
 *   <li>{@code zeros} (asymmetric only): one {@code bits}-bit unsigned zero per scale, in the same
 *       order, packed LSB-first ({@code ceil(scales·bits/8)} bytes).</li>
 * </ul>
 * Why integer zeros at the code width rather than fp16: they cost {@code bits} instead of 16 bits per
 * group (at 2 bits and g64 that is 0.03 instead of 0.25 bits/weight), the RTN range [min, max] widened to
 * include 0 keeps every weight within half a step of a code, and the kernel folds the zero into one
 * scalar term per group ({@code s·z·Σx}).
 *
 * <h2>Kernels</h2>
 * 8-bit codes in groups of 32k columns and 4-bit codes in groups of 64k use the 16-bit product kernels on every machine
 * ({@link ByteRowKernels}, on a copy of the codes made at the first product in blocks of rows, {@link ByteRows}): 8-bit
 * codes with the input as 12-bit integers per 32 values, 4-bit codes with 11-bit ones. When the codes are memory-mapped,
 * their pages are then released ({@link MemorySegment#unload}), so only the copy stays resident; {@link #dequantizeRow}
 * and writers still read the stored sections. 2-bit codes in groups of 64k take byte tables on a plane-row copy ({@link
 * PlaneRows}, {@link LutKernels#planeRows}: 64 rows per permute, the input as int8 tables of partial sums per 4 values)
 * where 512-bit vectors run the permute. 4-bit codes left over (groups of 32) and 2-bit codes in groups of 32 use the
 * table-lookup kernels ({@link LutKernels}: the input as
 * 12-bit tables of partial sums per 4 values; the error this adds is bounded in {@link LutInput}) on a bit-plane copy
 * ({@link BitPlanes}). The lookup needs 512-bit vectors ({@code vpermb}); without them (AVX2) those codes use the 16-bit
 * integer run kernels ({@link IntKernels}: the input quantized to 11–13-bit integers per 64 values). Other group sizes
 * use the exact float kernels ({@link PackedKernels}).
 *
 * <p>Why int4 left the lookup: the 16-bit products ran 1.2x faster in L2 and 1.06x from DRAM
 * (bench/results/int4-nibbles-2026-12-03.md), and 1.15x the run kernels on AVX2.
 *
 * <p>Why int2 takes byte tables: twice the 12-bit tables' speed in L2 (2.0x int4's nibble products at 4096x11008, one
 * thread; bench/results/int2-byte-tables-2026-12-03.md), for 16 times their rounding error: aidreams260K's int2 g64
 * perplexity moves 7.0e-4 against exact float (TableLookupPerplexityTest's budget is 2e-3), and its greedy text departs
 * after 35–110 tokens. Mixed matrices keep the 12-bit tables, where byte tables broke their greedy text within 27 tokens.
 */
public final class IntGroupMatrix extends PackedMatrix {
    private final int bits;
    private final MemorySegment codes, scales, zeros;
    private final long rowBytes;
    /** The symmetric zero in the kernels' code domain (8-bit codes are stored shifted by 128). */
    private final float kernelZero;
    /** Whether the table-lookup kernels take this matrix (codes in whole chunks, on a machine with 512-bit vectors). */
    private final boolean lookup;
    /**
     * Whether the 16-bit integer run kernels take it instead (2- and 4-bit codes in whole chunks that the byte rows do
     * not take, without 512-bit vectors: the lookup kernels would run as scalar code there).
     */
    private final boolean integer;
    /** Input chunk of each chunk of a row, for the run kernels: the identity. */
    private final int[] chunkMap;
    /** The copies for the table-lookup and the 16-bit product kernels, made at the first product. */
    private final FirstUseCopy<BitPlanes> planes;
    private final FirstUseCopy<ByteRows> bytes;
    private final FirstUseCopy<PlaneRows> planeRows;

    private IntGroupMatrix(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(type, rows, cols, spec, null, sections);
        this.bits = type.codeBits();
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.zeros = sections().get(Section.ZEROS);
        this.rowBytes = PackedKernels.codeBytes(cols, bits);
        this.kernelZero = bits == 8 ? 0f : 1 << (bits - 1);
        boolean fits = IntKernels.fits(g, cols);
        // 16-bit products for 8-bit codes in groups of 32k columns and 4-bit codes in groups of 64k
        boolean byteRows = bits == 8 && g % 32 == 0 || bits == 4 && g % 64 == 0;
        // byte tables for 2-bit codes in groups of 64k columns, where the 64-byte permute runs natively
        boolean planeRows = bits == 2 && g % 64 == 0 && LutKernels.NATIVE;
        this.lookup = (fits || g == 32 && cols % LutInput.CHUNK == 0) && LutKernels.NATIVE && !byteRows && !planeRows;
        this.integer = fits && !LutKernels.NATIVE && !byteRows && bits != 8;
        this.chunkMap = integer ? java.util.stream.IntStream.range(0, cols / IntKernels.CHUNK).toArray() : null;
        this.planes = new FirstUseCopy<>(this::makePlanes, codes, scales, zeros);
        this.bytes = new FirstUseCopy<>(byteRows ? this::makeByteRows : () -> null, codes, scales, zeros);
        this.planeRows = new FirstUseCopy<>(planeRows ? () -> PlaneRows.of(rows, cols, g, zeros != null, this::groupRow) : () -> null, codes, scales, zeros);
    }

    /**
     * Wraps existing sections without copying.
     *
     * @param type INT8, INT4 or INT2
     * @throws EngineException when the spec does not fit or a section is missing, extra or of the wrong size
     */
    public static IntGroupMatrix fromSections(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        if (type != QuantType.INT8 && type != QuantType.INT4 && type != QuantType.INT2) {
            throw new IllegalArgumentException(type.label() + " is not an integer group type");
        }
        checkShape(type, rows, cols);
        return new IntGroupMatrix(type, rows, cols, spec, sections);
    }

    public int bits() {
        return bits;
    }

    @Override
    boolean needsGroupSums() {
        return bits != 8 || zeros != null;
    }

    @Override
    boolean decodesOncePerTile() {
        return !integer;
    }

    @Override
    Input prepare(float[] x, int off) {
        if (integer) {
            return new Input(x, off, null, QuantizedInput.of(x, off, cols, bits, zeros == null), null);
        }
        return new Input(x, off, needsGroupSums() ? groupSums(x, off) : null, null, null);
    }

    private GroupRun run(int r) {
        long first = firstGroup(r);
        return new GroupRun(codes, r * rowBytes, groupsPerRow, scales, 2 * first, 2 * groupStep(),
                zeros, first * bits, bits * groupStep(), kernelZero, null, 0);
    }

    /** The bit-plane copy, or none (the float kernels). */
    private BitPlanes makePlanes() {
        if (!lookup) {
            return null;
        }
        return g == 32 ? BitPlanes.of(this, groupsPerRow, 0, 2, scales, zeros, false)
                : BitPlanes.of(this, groupsPerRow, IntKernels.groupShift(g, groupsPerRow), 1, scales, zeros, spec.perTensor());
    }

    /**
     * The byte-row copy: of 8-bit codes, signed codes {@code u − 128}, fp16 scales, signed zeros {@code z − 128}; of
     * 4-bit codes, nibble groups of the unsigned codes with fp16 scales and zeros {@code z − 8}.
     */
    private ByteRows makeByteRows() {
        ByteRows.GroupRows src = (r, c, s, z) -> {
            groupRow(r, c, s, z);
            for (int gi = 0; zeros != null && gi < groupsPerRow; gi++) {
                z[gi] = (byte) (z[gi] - (bits == 4 ? 8 : 128));
            }
        };
        return bits == 4 ? ByteRows.ofNibbleGroups(rows, cols, g, zeros != null, src) : ByteRows.ofGroups(rows, cols, g, zeros != null, src);
    }

    /** Row r's codes as bytes (8-bit: the signed codes u − 128), its fp16 scale bits and, with zeros, its unsigned zeros. */
    private void groupRow(int r, byte[] c, short[] s, byte[] z) {
        Packing.unpackBytes(codes, r * rowBytes, bits, cols, c);
        if (spec.perTensor()) {
            java.util.Arrays.fill(s, scales.get(PackedKernels.F16, 0));
        } else { // the stored fp16 scales as they are, a row's in a run
            MemorySegment.copy(scales, PackedKernels.F16, 2 * firstGroup(r), s, 0, groupsPerRow);
        }
        for (int gi = 0; zeros != null && gi < groupsPerRow; gi++) {
            z[gi] = (byte) zero(r, gi);
        }
    }

    /** The copy the products take, in their order (see {@link #matvec}). */
    @Override
    public void prepare() {
        if (bytes.get() == null && planeRows.get() == null && !integer) {
            planes.get();
        }
    }

    @Override
    public int rowBlock() {
        ByteRows b = bytes.get();
        if (b != null) {
            return b.rowBlock();
        }
        return planeRows.get() != null ? PlaneRows.ROWS : super.rowBlock();
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        ByteRows b = bytes.get();
        if (b != null) {
            ByteRowKernels.products(b, x, 1, y, rowStart, rowEnd);
            return;
        }
        PlaneRows t = planeRows.get();
        if (t != null) {
            LutKernels.products(t, x, 1, y, rowStart, rowEnd);
            return;
        }
        if (integer) {
            integerRows(QuantizedInput.of(x, 0, cols, bits, zeros == null), y, 0, rowStart, rowEnd);
            return;
        }
        BitPlanes p = planes.get();
        if (p == null) {
            super.matvec(x, y, rowStart, rowEnd);
        } else {
            products(p, new LutInput[] {LutInput.of(x, 0, cols)}, 1, y, 0, rowStart, rowEnd);
        }
    }

    /** Batches go in tiles of inputs whose tables fit in L2; within a tile each code block is read from memory once. */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        ByteRows copy = bytes.get();
        if (copy != null) {
            ByteRowKernels.products(copy, x, n, y, rowStart, rowEnd);
            return;
        }
        PlaneRows t = planeRows.get();
        if (t != null) {
            LutKernels.products(t, x, n, y, rowStart, rowEnd);
            return;
        }
        if (integer && n > 1) {
            integerBatch(x, y, n, rowStart, rowEnd);
            return;
        }
        BitPlanes p = planes.get();
        if (p == null || n == 1) {
            if (p == null) {
                super.matmul(x, y, n, rowStart, rowEnd);
            } else {
                matvec(x, y, rowStart, rowEnd);
            }
            return;
        }
        int tile = LutKernels.tile(cols, n);
        LutInput[] in = new LutInput[tile];
        for (int b0 = 0; b0 < n; b0 += tile) {
            int m = Math.min(tile, n - b0);
            for (int b = 0; b < m; b++) {
                in[b] = LutInput.of(x, (b0 + b) * cols, cols);
            }
            products(p, in, m, y, b0 * rows, rowStart, rowEnd);
        }
    }

    /** The integer kernels take a batch in blocks of 16 rows, so each block's codes are read from memory once. */
    private void integerBatch(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        QuantizedInput[] in = new QuantizedInput[n];
        for (int b = 0; b < n; b++) {
            in[b] = QuantizedInput.of(x, b * cols, cols, bits, zeros == null);
        }
        for (int r0 = rowStart; r0 < rowEnd; r0 += 16) {
            int r1 = Math.min(rowEnd, r0 + 16);
            for (int b = 0; b < n; b++) {
                integerRows(in[b], y, b * rows, r0, r1);
            }
        }
    }

    private static void products(BitPlanes p, LutInput[] in, int n, float[] y, int yOff, int r0, int r1) {
        LutKernels.products(p, in, n, y, yOff, p.rows, r0, r1);
    }

    /**
     * {@code y[yOff + r]} for rows r0..r1 with the 16-bit integer run kernel of 2-bit codes. Every kernel is called from a
     * method of its own with no other kernel in it (see {@link IntKernels}).
     */
    private void integerRows(QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        int chunks = chunkMap.length, shift = IntKernels.groupShift(g, groupsPerRow);
        float[] sd = new float[chunks];
        for (int r = r0; r < r1; r++) {
            long firstGroup = firstGroup(r);
            y[yOff + r] = IntKernels.int2Run(codes, r * rowBytes, chunks, scales, 2 * firstGroup, shift, zeros, 2 * firstGroup, in, chunkMap, 0, sd);
        }
    }

    /** Products of the float kernels, or of the integer kernel of 2-bit codes (see {@link #integerRows}). */
    @Override
    float rowDot(int r, Input in, Object scratch) {
        if (integer) {
            float[] y = new float[1];
            integerRows(in.q4(), y, -r, r, r + 1);
            return y[0];
        }
        if (bits == 8) {
            long first = firstGroup(r); // the run's fields, without a GroupRun per row (see PackedKernels.dot8)
            return PackedKernels.dot8(codes, r * rowBytes, groupsPerRow, scales, 2 * first, 2 * groupStep(),
                    zeros, first * bits, bits * groupStep(), kernelZero, null, 0, g, in.x(), in.off(), in.groupSums(), 0);
        }
        return PackedKernels.dot(bits, run(r), g, in.x(), in.off(), in.groupSums(), 0);
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        PackedKernels.dot4x(bits, run(r), g, x, xb, xsum, xs, out);
    }

    /** Unsigned codes of row {@code r} into {@code u[0..cols)}. */
    void codes(int r, int[] u) {
        Packing.unpack(codes, r * rowBytes, bits, cols, u);
    }

    /** Scale of group {@code gi} of row {@code r}. */
    public float scale(int r, int gi) {
        return PackedKernels.f16(scales, 2 * (firstGroup(r) + gi * groupStep()));
    }

    /** Unsigned zero point of group {@code gi} of row {@code r} (2^(bits−1) when symmetric). */
    public int zero(int r, int gi) {
        if (zeros == null) {
            return 1 << (bits - 1);
        }
        return Packing.readBits(zeros, (firstGroup(r) + gi * groupStep()) * bits, bits);
    }

    /** Unsigned code of weight (r, c). */
    public int code(int r, int c) {
        return Packing.code(codes, r * rowBytes, bits, c);
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        ByteRows b = bytes.made(); // once made, rows come from the copy (a tied embedding's lookups leave the file's pages alone)
        if (b != null && b.dequantizeRow(r, out, off)) {
            return;
        }
        for (int gi = 0; gi < groupsPerRow; gi++) {
            float s = scale(r, gi);
            int z = zero(r, gi);
            for (int c = gi * g; c < (gi + 1) * g; c++) {
                out[off + c] = s * (code(r, c) - z);
            }
        }
    }
}

package io.nashswarm.tensor;

import io.nashswarm.EngineException;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * Mixed precision by group: each (row, group) has its own code width from {2, 4, 8}, with an fp16 scale
 * per group, optional integer zeros, and an optional sparse list of outlier corrections.
 * {@code w = s·(u − z) (+ correction)}; the symmetric zero is 2^(width−1).
 *
 * <h2>Sections (in this order; see {@link QuantType#sections})</h2>
 * <ul>
 *   <li>{@code map}: the width of group {@code i = row·G + group} (G = groups per row) in bits
 *       {@code 2(i mod 4)..} of byte {@code i/4}: 0 = 2-bit, 1 = 4-bit, 2 = 8-bit (3 is invalid).</li>
 *   <li>{@code codes}: row after row; within a row the 8-bit groups in ascending group order, then the
 *       4-bit groups, then the 2-bit groups, each group in the unit layout of {@link Packing}. Kernels
 *       so stream each width without a branch per element.</li>
 *   <li>{@code scales}: fp16, one per group, row after row, in the same (stored) order as the codes.</li>
 *   <li>{@code zeros} (asymmetric only): one zero per group at the group's width, packed LSB-first, in
 *       three regions: the zeros of all 8-bit groups (row after row, in stored order), then those of all
 *       4-bit groups, then those of all 2-bit groups. So no field straddles a byte, and the kernel reads a
 *       zero with one byte load.</li>
 *   <li>{@code outlier_rows} and {@code outliers} (only when there are outliers): int32 little-endian
 *       start index of each row's outliers (rows + 1 entries, first 0, last = count), then per outlier
 *       4 bytes: uint16 column and the fp16 correction added to the dequantized weight. Columns ascend
 *       within a row; outliers need cols ≤ 65536.</li>
 * </ul>
 * The per-row offsets into codes and zeros follow from the map; they are recomputed on load (heap:
 * 32 bytes per row) rather than stored, by {@link MixedLayout}, which holds all of this index maths.
 */
public final class MixedGroupMatrix extends PackedMatrix {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final MemorySegment map, codes, scales, zeros, outlierRows, outliers;
    private final MixCounts counts;
    /** Where each row's runs of each width lie. */
    private final MixedLayout layout;
    /**
     * Rows that share a width per group, the unit of the table-lookup kernels ({@link MixedPlanes}): the allocators
     * choose widths per tile of this many rows (aligned at multiples of it) × one group.
     */
    public static final int TILE_ROWS = BitPlanes.ROWS;
    /** Whether products use the table-lookup kernels (512-bit vectors, groups of whole chunks). */
    private final boolean lookup;
    /** The uniform parts of a matrix whose widths are chosen per column group, made at the first product. */
    private final FirstUseCopy<MixedColumns> columns;
    /** The bit-plane copy for the table-lookup kernels, made at the first product of a matrix without {@link #columns}. */
    private final FirstUseCopy<MixedPlanes> planes;

    private MixedGroupMatrix(int rows, int cols, GroupSpec spec, MixCounts counts, Map<String, MemorySegment> sections, MixedLayout layout) {
        super(QuantType.MIXED, rows, cols, spec, counts, sections);
        this.counts = counts;
        this.map = sections().get(Section.MAP);
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.zeros = sections().get(Section.ZEROS);
        this.outlierRows = sections().get(Section.OUTLIER_ROWS);
        this.outliers = sections().get(Section.OUTLIERS);
        this.layout = layout;
        this.lookup = LutKernels.NATIVE && IntKernels.fits(g, cols);
        this.columns = new FirstUseCopy<>(() -> MixedColumns.of(this, codes, scales, zeros), codes, scales, zeros);
        this.planes = new FirstUseCopy<>(() -> lookup ? MixedPlanes.of(this, zeros != null) : null, codes, scales, zeros);
        if (outliers != null) {
            checkOutliers();
        }
    }

    /**
     * Wraps existing sections without copying. Reads the map once to validate it and to find each row's
     * offsets; checks every section size against the table before touching codes.
     *
     * @throws EngineException on an invalid width in the map, a wrong section size or bad outlier entries
     */
    public static MixedGroupMatrix fromSections(int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        checkShape(QuantType.MIXED, rows, cols);
        spec.check(QuantType.MIXED, cols);
        MemorySegment map = sections.get(Section.MAP);
        int groups = cols / spec.groupSize();
        long mapBytes = QuantType.ceilDiv((long) rows * groups * 2, 8);
        if (map == null || map.byteSize() != mapBytes) {
            throw new EngineException("mixed " + rows + "x" + cols + " " + spec + ": section 'map' "
                    + (map == null ? "is missing" : "has " + map.byteSize() + " bytes, expected " + mapBytes));
        }
        MixedLayout layout = new MixedLayout(map, rows, groups, spec.groupSize());
        MemorySegment out = sections.get(Section.OUTLIERS);
        long nOut = out == null ? 0 : out.byteSize() / 4;
        if (out != null && out.byteSize() % 4 != 0) {
            throw new EngineException("mixed matrix: section 'outliers' has " + out.byteSize() + " bytes, not a multiple of 4");
        }
        MixCounts counts = new MixCounts(layout.groups(2), layout.groups(1), layout.groups(0), nOut);
        return new MixedGroupMatrix(rows, cols, spec, counts, sections, layout);
    }

    private void checkOutliers() {
        if (cols > 65536) {
            throw new EngineException("mixed matrix outliers store uint16 columns; cols " + cols + " > 65536");
        }
        long n = counts.outliers();
        int prevEnd = 0;
        for (int r = 0; r < rows; r++) {
            int start = outlierRows.getAtIndex(I32, r), end = outlierRows.getAtIndex(I32, r + 1);
            if (start != prevEnd || end < start || end > n) {
                throw new EngineException("mixed matrix: outlier_rows[" + r + "] = " + start + ".." + end + " is not a valid range of " + n + " outliers");
            }
            int prevCol = -1;
            for (int k = start; k < end; k++) {
                int c = outlierCol(k);
                if (c <= prevCol || c >= cols) {
                    throw new EngineException("mixed matrix: outlier " + k + " of row " + r + " has column " + c + " (columns must ascend and be < " + cols + ")");
                }
                prevCol = c;
            }
            prevEnd = end;
        }
        if (prevEnd != n) {
            throw new EngineException("mixed matrix: outlier_rows ends at " + prevEnd + " but there are " + n + " outliers");
        }
    }

    private int outlierCol(long k) {
        return outliers.get(U16, 4 * k) & 0xFFFF;
    }

    private float outlierValue(long k) {
        return PackedKernels.f16(outliers, 4 * k + 2);
    }

    @Override
    public MixCounts counts() {
        return counts;
    }

    /** Width (2, 4 or 8) of group {@code gi} of row {@code r}. */
    public int width(int r, int gi) {
        return layout.width(r, gi);
    }

    /** The index maths of this matrix's layout. */
    public MixedLayout layout() {
        return layout;
    }

    /** Scale of (logical) group {@code gi} of row {@code r}. */
    public float scale(int r, int gi) {
        return PackedKernels.f16(scales, 2 * ((long) r * groupsPerRow + layout.storedIndex(r, gi)));
    }

    /** Unsigned zero of group {@code gi} of row {@code r} (2^(width−1) when symmetric). */
    public int zero(int r, int gi) {
        int bits = width(r, gi);
        if (zeros == null) {
            return 1 << (bits - 1);
        }
        MixedLayout.Span run = layout.span(r, layout.widthClass(r, gi));
        return Packing.readBits(zeros, run.zeroBit() + (long) bits * (layout.storedIndex(r, gi) - run.first()), bits);
    }

    @Override
    boolean needsGroupSums() {
        return true;
    }

    @Override
    boolean decodesOncePerTile() {
        return !IntKernels.fits(g, cols);
    }

    /** 4- and 2-bit runs use the integer kernels when groups are whole chunks; 8-bit runs the float kernel (group sums for asymmetric zeros). */
    @Override
    Input prepare(float[] x, int off) {
        if (!IntKernels.fits(g, cols)) {
            return new Input(x, off, groupSums(x, off), null, null);
        }
        boolean sym = zeros == null;
        return new Input(x, off, sym ? null : groupSums(x, off),
                counts.groups4() > 0 ? QuantizedInput.of(x, off, cols, 4, sym) : null,
                counts.groups2() > 0 ? QuantizedInput.of(x, off, cols, 2, sym) : null);
    }

    /**
     * Per-call scratch: a row's groups in stored order and the per-width lists {@link #storedOrder} builds it
     * from; for the integer kernels, the input chunk of each chunk of a run (groups of several chunks), and
     * room for the kernel's per-chunk scale·step.
     */
    private record Scratch(int[] order, int[] lists, int[] xmap, float[] sd) {}

    @Override
    Object scratch() {
        int chunks = cols / IntKernels.CHUNK;
        return new Scratch(new int[groupsPerRow], new int[3 * (groupsPerRow + I8.length())], new int[chunks], new float[chunks]);
    }

    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final IntVector LANES = IntVector.zero(I8).addIndex(1);
    private static final long EVEN = 0x5555555555555555L;

    /**
     * Fills the scratch order with row r's group indices in stored order (8-bit, then 4-bit, then 2-bit
     * groups). This runs once per row per product, for every row, and widths are random, so it has no
     * branch per group: per 32 groups it splits the map into one bit mask per width (PEXT through
     * {@code Long.compress}) and compresses the group indices of each 8 groups by each mask into that
     * width's list (measured: a quarter of a mixed product's time went here with a loop per group).
     */
    private int[] storedOrder(int r, Scratch s) {
        int[] order = s.order(), lists = s.lists(); // the 8-, 4- and 2-bit lists, each with 8 spare slots
        int gpr = groupsPerRow, stride = gpr + I8.length(), p8 = 0, p4 = stride, p2 = 2 * stride;
        long rowBit = 2L * r * gpr;
        for (int g0 = 0; g0 < gpr; g0 += 32) {
            int n = Math.min(32, gpr - g0);
            long v = mapBits(rowBit + 2L * g0, n);
            long lo = Long.compress(v, EVEN), hi = Long.compress(v >>> 1, EVEN); // bit k: group g0 + k
            long m8 = hi & ~lo, m4 = lo & ~hi, m2 = ~(lo | hi) & ((1L << n) - 1);
            for (int j = 0; j < n; j += 8) {
                IntVector gi = LANES.add(g0 + j);
                int b8 = (int) (m8 >>> j) & 0xFF, b4 = (int) (m4 >>> j) & 0xFF, b2 = (int) (m2 >>> j) & 0xFF;
                gi.compress(VectorMask.fromLong(I8, b8)).intoArray(lists, p8);
                gi.compress(VectorMask.fromLong(I8, b4)).intoArray(lists, p4);
                gi.compress(VectorMask.fromLong(I8, b2)).intoArray(lists, p2);
                p8 += Integer.bitCount(b8);
                p4 += Integer.bitCount(b4);
                p2 += Integer.bitCount(b2);
            }
        }
        System.arraycopy(lists, 0, order, 0, p8);
        System.arraycopy(lists, stride, order, p8, p4 - stride);
        System.arraycopy(lists, 2 * stride, order, p8 + p4 - stride, p2 - 2 * stride);
        return order;
    }

    /** {@code 2n} map bits (n ≤ 32 entries) from bit {@code bitOff}, LSB first. */
    private long mapBits(long bitOff, int n) {
        long at = bitOff >>> 3;
        int sh = (int) (bitOff & 7);
        int bytes = (sh + 2 * n + 7) >>> 3; // up to 9
        long v;
        if (at + 8 <= map.byteSize()) {
            v = map.get(U64, at) >>> sh;
        } else {
            v = 0;
            for (int b = 0; b < bytes; b++) {
                v |= (map.get(ValueLayout.JAVA_BYTE, at + b) & 0xFFL) << (8 * b);
            }
            v >>>= sh;
        }
        if (bytes == 9) {
            v |= (map.get(ValueLayout.JAVA_BYTE, at + 8) & 0xFFL) << (64 - sh);
        }
        return n == 32 ? v : v & ((1L << (2 * n)) - 1);
    }

    /** A row's run of one width class as the float kernels take it. */
    private GroupRun run(MixedLayout.Span run, int[] order) {
        float kernelZero = run.bits() == 8 ? 0f : 1 << (run.bits() - 1);
        return new GroupRun(codes, run.codeOff(), run.groups(), scales, 2 * run.scaleIndex(), 2,
                zeros, run.zeroBit(), run.bits(), kernelZero, order, run.first());
    }

    /** Table lookup: {@code y[yOff + b·rows + r]} for inputs b < n at {@code x[b·cols]}, in tiles of inputs whose tables fit in L2. */
    private void lookupProducts(MixedPlanes p, float[] x, float[] y, int n, int r0, int r1) {
        int tile = LutKernels.tile(cols, n);
        LutInput[] in = new LutInput[tile];
        SplitInput[] split = new SplitInput[tile];
        for (int b0 = 0; b0 < n; b0 += tile) {
            int m = Math.min(tile, n - b0);
            for (int b = 0; b < m; b++) {
                in[b] = LutKernels.input(x, (b0 + b) * cols, cols, n, false);
                split[b] = p.byteTiles ? LutKernels.pairInput(x, (b0 + b) * cols, cols, n) : null;
            }
            LutKernels.products(p, in, split, m, y, b0 * rows, rows, r0, r1);
        }
        addOutliers(x, y, n, r0, r1);
    }

    /** The uniform kernels of each width over its columns ({@link MixedColumns}), then the outliers. */
    private void columnProducts(MixedColumns c, float[] x, float[] y, int n, int r0, int r1) {
        c.products(x, n, y, r0, r1);
        addOutliers(x, y, n, r0, r1);
    }

    /** Adds the outlier corrections' products to {@code y[b·rows + r]} for inputs b < n and rows r0..r1 (none without outliers). */
    private void addOutliers(float[] x, float[] y, int n, int r0, int r1) {
        for (int b = 0; outliers != null && b < n; b++) {
            for (int r = r0; r < r1; r++) {
                y[b * rows + r] += outlierProduct(r, x, b * cols);
            }
        }
    }

    @Override
    public int rowBlock() {
        MixedColumns c = columns.get();
        return c != null ? c.rowBlock() : super.rowBlock();
    }

    @Override
    public void prepare() {
        if (columns.get() == null) {
            planes.get();
        }
    }

    /**
     * Whether the widths change down some group column (Nash-Swarm's maps do; the target-bpw allocators' do not): such a
     * matrix cannot run per width over column subsets ({@link MixedColumns}), in proportion to its bits.
     */
    public boolean widthsChangeDownColumns() {
        Boolean c = changeDownColumns;
        if (c == null) { // a scan of the whole map: once
            changeDownColumns = c = !MixedColumns.sameWidthsDownColumns(this);
        }
        return c;
    }

    private volatile Boolean changeDownColumns;

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        MixedColumns c = columns.get();
        if (c != null) {
            columnProducts(c, x, y, 1, rowStart, rowEnd);
            return;
        }
        MixedPlanes p = planes.get();
        if (p != null) {
            lookupProducts(p, x, y, 1, rowStart, rowEnd);
            return;
        }
        products(new Input[] {prepare(x, 0)}, y, rowStart, rowEnd, (Scratch) scratch());
    }

    /** With the integer kernels, a batch goes row by row: each row's map is walked and its codes read from memory once for all inputs. */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        MixedColumns c = columns.get();
        if (c != null) {
            columnProducts(c, x, y, n, rowStart, rowEnd);
            return;
        }
        MixedPlanes p = planes.get();
        if (p != null) {
            lookupProducts(p, x, y, n, rowStart, rowEnd);
            return;
        }
        if (n == 1 || decodesOncePerTile()) {
            super.matmul(x, y, n, rowStart, rowEnd);
            return;
        }
        Input[] in = new Input[n];
        for (int b = 0; b < n; b++) {
            in[b] = prepare(x, b * cols);
        }
        products(in, y, rowStart, rowEnd, (Scratch) scratch());
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        Scratch sc = (Scratch) scratch;
        storedOrder(r, sc);
        return rowProduct(r, in, sc);
    }

    /** {@code y[b·rows + r]} for every input b and rows r0..r1. */
    private void products(Input[] in, float[] y, int r0, int r1, Scratch sc) {
        for (int r = r0; r < r1; r++) {
            storedOrder(r, sc);
            for (int b = 0; b < in.length; b++) {
                y[b * rows + r] = rowProduct(r, in[b], sc);
            }
        }
    }

    /**
     * Row r's product with one input, the scratch order holding the row's {@link #storedOrder}: its
     * outliers and each width's run of groups. Every kernel called here is too big for the JIT to inline
     * (see {@link IntKernels}), so each compiles on its own and this method only calls them.
     */
    private float rowProduct(int r, Input in, Scratch sc) {
        float[] x = in.x();
        int[] order = sc.order();
        float v = 0f;
        if (outliers != null) {
            for (int k = outlierRows.getAtIndex(I32, r), end = outlierRows.getAtIndex(I32, r + 1); k < end; k++) {
                v += outlierValue(k) * x[in.off() + outlierCol(k)];
            }
        }
        MixedLayout.Span run8 = layout.span(r, 0), run4 = layout.span(r, 1), run2 = layout.span(r, 2);
        if (run8.groups() > 0) {
            v += PackedKernels.dot8(run(run8, order), g, x, in.off(), in.groupSums(), 0);
        }
        if (IntKernels.fits(g, cols)) {
            if (run4.groups() > 0) {
                v += intRun(run4, in.q4(), sc);
            }
            if (run2.groups() > 0) {
                v += intRun(run2, in.q2(), sc);
            }
        } else {
            if (run4.groups() > 0) {
                v += PackedKernels.dot4(run(run4, order), g, x, in.off(), in.groupSums(), 0);
            }
            if (run2.groups() > 0) {
                v += PackedKernels.dot2(run(run2, order), g, x, in.off(), in.groupSums(), 0);
            }
        }
        return v;
    }

    /**
     * The integer run kernel over a row's run of 4- or 2-bit groups; the scratch order must hold the
     * row's {@link #storedOrder}. With one chunk per group that order is the kernel's chunk map as it is.
     */
    private float intRun(MixedLayout.Span run, QuantizedInput in, Scratch sc) {
        int bits = run.bits(), first = run.first(), groups = run.groups();
        int cpg = g / IntKernels.CHUNK, chunks = groups * cpg;
        int[] xmap = sc.order();
        int xoff = first;
        if (cpg > 1) {
            xmap = sc.xmap();
            xoff = 0;
            for (int k = 0, c = 0; k < groups; k++) {
                for (int j = 0; j < cpg; j++) {
                    xmap[c++] = sc.order()[first + k] * cpg + j;
                }
            }
        }
        long scaleOff = 2 * run.scaleIndex();
        int shift = IntKernels.groupShift(g, groups);
        return bits == 4 ? IntKernels.int4Run(codes, run.codeOff(), chunks, scales, scaleOff, shift, zeros, run.zeroBit(), in, xmap, xoff, sc.sd())
                : IntKernels.int2Run(codes, run.codeOff(), chunks, scales, scaleOff, shift, zeros, run.zeroBit(), in, xmap, xoff, sc.sd());
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        int[] order = storedOrder(r, (Scratch) scratch);
        float y0 = 0, y1 = 0, y2 = 0, y3 = 0;
        for (int c = 0; c < 3; c++) {
            MixedLayout.Span run = layout.span(r, c);
            if (run.groups() > 0) {
                PackedKernels.dot4x(run.bits(), run(run, order), g, x, xb, xsum, xs, out);
                y0 += out[0];
                y1 += out[1];
                y2 += out[2];
                y3 += out[3];
            }
        }
        if (outliers != null) {
            for (int k = outlierRows.getAtIndex(I32, r), end = outlierRows.getAtIndex(I32, r + 1); k < end; k++) {
                float v = outlierValue(k);
                int c = outlierCol(k);
                y0 += v * x[xb[0] + c];
                y1 += v * x[xb[1] + c];
                y2 += v * x[xb[2] + c];
                y3 += v * x[xb[3] + c];
            }
        }
        out[0] = y0;
        out[1] = y1;
        out[2] = y2;
        out[3] = y3;
    }

    /** Unsigned code of weight (r, c) (for tests). */
    int code(int r, int c) {
        int gi = c / g, bits = width(r, gi);
        MixedLayout.Span run = layout.span(r, layout.widthClass(r, gi));
        long code = run.codeOff() + (long) (layout.storedIndex(r, gi) - run.first()) * g * bits / 8;
        return Packing.code(codes, code, bits, c % g);
    }

    /** Σ of row r's outlier corrections times {@code x[off + column]} (0 without outliers). */
    float outlierProduct(int r, float[] x, int off) {
        float v = 0f;
        if (outliers != null) {
            for (int k = outlierRows.getAtIndex(I32, r), end = outlierRows.getAtIndex(I32, r + 1); k < end; k++) {
                v += outlierValue(k) * x[off + outlierCol(k)];
            }
        }
        return v;
    }

    /** Widths (2, 4, 8) of row r's groups in logical order. */
    void rowWidths(int r, int[] widths) {
        for (int gi = 0; gi < groupsPerRow; gi++) {
            widths[gi] = layout.width(r, gi);
        }
    }

    /** Row r's codes, widths, fp16 scale bits and unsigned zeros (2^(width−1) when symmetric), all in logical order. */
    void rowGroups(int r, MixedPlanes.Row out) {
        int[] order = storedOrder(r, (Scratch) scratch());
        for (int c = 0; c < 3; c++) {
            MixedLayout.Span run = layout.span(r, c);
            int bits = run.bits();
            for (int k = 0; k < run.groups(); k++) {
                int gi = order[run.first() + k];
                out.widths()[gi] = bits;
                out.scales()[gi] = scales.get(PackedKernels.F16, 2 * (run.scaleIndex() + k));
                out.zeros()[gi] = zeros == null ? 1 << (bits - 1) : Packing.readBits(zeros, run.zeroBit() + (long) bits * k, bits);
                long code = run.codeOff() + (long) k * g * bits / 8;
                for (int i = 0; i < g; i++) {
                    out.codes()[gi * g + i] = Packing.code(codes, code, bits, i);
                }
            }
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        int[] order = storedOrder(r, (Scratch) scratch());
        for (int c = 0; c < 3; c++) {
            MixedLayout.Span run = layout.span(r, c);
            int bits = run.bits();
            for (int k = 0; k < run.groups(); k++) {
                int gi = order[run.first() + k];
                float s = PackedKernels.f16(scales, 2 * (run.scaleIndex() + k));
                int z = zeros == null ? 1 << (bits - 1) : Packing.readBits(zeros, run.zeroBit() + (long) bits * k, bits);
                long code = run.codeOff() + (long) k * g * bits / 8;
                for (int i = 0; i < g; i++) {
                    out[off + gi * g + i] = s * (Packing.code(codes, code, bits, i) - z);
                }
            }
        }
        if (outliers != null) {
            for (int k = outlierRows.getAtIndex(I32, r), end = outlierRows.getAtIndex(I32, r + 1); k < end; k++) {
                out[off + outlierCol(k)] += outlierValue(k);
            }
        }
    }
}

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
 * 4- and 2-bit codes in groups of a power-of-two multiple of 64 (or one group per row) use the integer kernels ({@link IntKernels}: the input
 * quantized to 11–13-bit integers per 64 values; the error this adds is bounded there); other group sizes
 * and 8-bit codes use the exact float kernels ({@link PackedKernels}).
 */
public final class IntGroupMatrix extends PackedMatrix {
    private final int bits;
    private final MemorySegment codes, scales, zeros;
    private final long rowBytes;
    /** The symmetric zero in the kernels' code domain (8-bit codes are stored shifted by 128). */
    private final float kernelZero;
    /** Which kernels compute this matrix's products. */
    private enum Path {
        /** 8-bit codes, and groups that are not whole chunks of 64: the exact float kernels. */
        FLOAT,
        /** Symmetric 4- and 2-bit codes in groups of 64 or one group per row: {@link IntKernels} row kernels. */
        ROWS,
        /** Other 4- and 2-bit codes in whole chunks: {@link IntKernels} run kernels (zeros, larger groups). */
        RUNS
    }

    private final Path path;
    private final int groupShift;
    /** Input chunk of each chunk of a row, for the run kernels: the identity. */
    private final int[] chunkMap;

    private IntGroupMatrix(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(type, rows, cols, spec, null, sections);
        this.bits = type.codeBits();
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.zeros = sections().get(Section.ZEROS);
        this.rowBytes = PackedKernels.codeBytes(cols, bits);
        this.kernelZero = bits == 8 ? 0f : 1 << (bits - 1);
        boolean integer = bits != 8 && IntKernels.fits(g, cols);
        this.path = !integer ? Path.FLOAT : zeros == null && (g == IntKernels.CHUNK || groupsPerRow == 1) ? Path.ROWS : Path.RUNS;
        this.groupShift = IntKernels.groupShift(g, groupsPerRow);
        this.chunkMap = path == Path.RUNS ? java.util.stream.IntStream.range(0, cols / IntKernels.CHUNK).toArray() : null;
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
        return path == Path.FLOAT;
    }

    @Override
    Input prepare(float[] x, int off) {
        if (path != Path.FLOAT) {
            QuantizedInput q = QuantizedInput.of(x, off, cols, bits, zeros == null);
            return new Input(x, off, null, bits == 4 ? q : null, bits == 2 ? q : null);
        }
        return new Input(x, off, needsGroupSums() ? groupSums(x, off) : null, null, null);
    }

    private GroupRun run(int r) {
        long first = firstGroup(r);
        return new GroupRun(codes, r * rowBytes, groupsPerRow, scales, 2 * first, 2 * groupStep(),
                zeros, first * bits, bits * groupStep(), kernelZero, null, 0);
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        if (path == Path.FLOAT) {
            super.matvec(x, y, rowStart, rowEnd);
        } else {
            products(QuantizedInput.of(x, 0, cols, bits, zeros == null), y, 0, rowStart, rowEnd);
        }
    }

    /** The integer kernels take a batch in blocks of {@value #BLOCK_ROWS} rows, so each block's codes are read from memory once. */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        if (path == Path.FLOAT || n == 1) {
            super.matmul(x, y, n, rowStart, rowEnd);
            return;
        }
        QuantizedInput[] in = new QuantizedInput[n];
        for (int b = 0; b < n; b++) {
            in[b] = QuantizedInput.of(x, b * cols, cols, bits, zeros == null);
        }
        for (int r0 = rowStart; r0 < rowEnd; r0 += BLOCK_ROWS) {
            int r1 = Math.min(rowEnd, r0 + BLOCK_ROWS);
            for (int b = 0; b < n; b++) {
                products(in[b], y, b * rows, r0, r1);
            }
        }
    }

    private static final int BLOCK_ROWS = 16;

    /**
     * {@code y[yOff + r]} for rows r0..r1 with the integer kernels. Every kernel is called from a method of
     * its own with no other kernel in it: a compilation that inlines two kernels exceeds the JIT's
     * inlining budget (see {@link IntKernels}).
     */
    private void products(QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        long rowScaleBytes = spec.perTensor() ? 0 : 2L * groupsPerRow;
        int scaleStep = groupsPerRow == 1 ? 0 : 2, chunks = cols / IntKernels.CHUNK;
        if (path == Path.ROWS && bits == 4) {
            IntKernels.int4Rows(codes, rowBytes, scales, rowScaleBytes, scaleStep, chunks, in, y, yOff, r0, r1);
        } else if (path == Path.ROWS) {
            IntKernels.int2Rows(codes, rowBytes, scales, rowScaleBytes, scaleStep, chunks, in, y, yOff, r0, r1);
        } else {
            runs(in, y, yOff, r0, r1);
        }
    }

    private void runs(QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        int chunks = chunkMap.length;
        float[] sd = new float[chunks];
        for (int r = r0; r < r1; r++) {
            long firstGroup = firstGroup(r);
            y[yOff + r] = bits == 4
                    ? IntKernels.int4Run(codes, r * rowBytes, chunks, scales, 2 * firstGroup, groupShift, zeros, 4 * firstGroup, in, chunkMap, 0, sd)
                    : IntKernels.int2Run(codes, r * rowBytes, chunks, scales, 2 * firstGroup, groupShift, zeros, 2 * firstGroup, in, chunkMap, 0, sd);
        }
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        if (path == Path.FLOAT && bits == 8) {
            long first = firstGroup(r); // the run's fields, without a GroupRun per row (see PackedKernels.dot8)
            return PackedKernels.dot8(codes, r * rowBytes, groupsPerRow, scales, 2 * first, 2 * groupStep(),
                    zeros, first * bits, bits * groupStep(), kernelZero, null, 0, g, in.x(), in.off(), in.groupSums(), 0);
        }
        if (path == Path.FLOAT) {
            return PackedKernels.dot(bits, run(r), g, in.x(), in.off(), in.groupSums(), 0);
        }
        float[] y = new float[1];
        products(bits == 4 ? in.q4() : in.q2(), y, -r, r, r + 1);
        return y[0];
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        PackedKernels.dot4x(bits, run(r), g, x, xb, xsum, xs, out);
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
        for (int gi = 0; gi < groupsPerRow; gi++) {
            float s = scale(r, gi);
            int z = zero(r, gi);
            for (int c = gi * g; c < (gi + 1) * g; c++) {
                out[off + c] = s * (code(r, c) - z);
            }
        }
    }
}

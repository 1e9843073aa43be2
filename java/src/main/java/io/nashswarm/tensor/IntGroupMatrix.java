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
    /** 4- and 2-bit codes in whole chunks of 64 go through {@link IntKernels}; the rest through the float kernels. */
    private final boolean integerKernels;
    /** ... and of those, symmetric codes in groups of 64 or one group per row go through the row kernels. */
    private final boolean rowKernels;
    private final int groupShift;

    private IntGroupMatrix(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(type, rows, cols, spec, null, sections);
        this.bits = type.codeBits();
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.zeros = sections().get(Section.ZEROS);
        this.rowBytes = PackedKernels.codeBytes(cols, bits);
        this.kernelZero = bits == 8 ? 0f : 1 << (bits - 1);
        this.integerKernels = bits != 8 && IntKernels.fits(g, cols);
        this.rowKernels = integerKernels && zeros == null && (g == IntKernels.CHUNK || groupsPerRow == 1);
        this.groupShift = IntKernels.groupShift(g, groupsPerRow);
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
        return !integerKernels;
    }

    @Override
    Input prepare(float[] x, int off) {
        if (integerKernels) {
            QuantizedInput q = QuantizedInput.of(x, off, cols, bits, zeros == null);
            return new Input(x, off, null, bits == 4 ? q : null, bits == 2 ? q : null);
        }
        return new Input(x, off, needsGroupSums() ? groupSums(x, off) : null, null, null);
    }

    private GroupRun run(int r) {
        boolean one = spec.perTensor();
        long firstScale = one ? 0 : (long) r * groupsPerRow;
        return new GroupRun(codes, r * rowBytes, groupsPerRow,
                scales, 2 * firstScale, one ? 0 : 2,
                zeros, firstScale * bits, one ? 0 : bits, kernelZero, null, 0);
    }

    /** Rows r0..r1 of the product with a quantized input into {@code y[yOff + r]} (the row kernels). */
    private void rows(QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        boolean one = spec.perTensor(), perRow = groupsPerRow == 1;
        long rowScaleBytes = one ? 0 : 2L * groupsPerRow;
        int scaleStep = perRow ? 0 : 2, chunks = cols / IntKernels.CHUNK;
        if (bits == 4) {
            IntKernels.int4Rows(codes, rowBytes, scales, rowScaleBytes, scaleStep, chunks, in, y, yOff, r0, r1);
        } else {
            IntKernels.int2Rows(codes, rowBytes, scales, rowScaleBytes, scaleStep, chunks, in, y, yOff, r0, r1);
        }
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        if (rowKernels) {
            rows(QuantizedInput.of(x, 0, cols, bits, true), y, 0, rowStart, rowEnd);
        } else {
            super.matvec(x, y, rowStart, rowEnd);
        }
    }

    /** Row kernels take the batch in blocks of {@value #BLOCK_ROWS} rows, so each block's codes are read from memory once. */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        if (!rowKernels || n == 1) {
            super.matmul(x, y, n, rowStart, rowEnd);
            return;
        }
        QuantizedInput[] in = new QuantizedInput[n];
        for (int b = 0; b < n; b++) {
            in[b] = QuantizedInput.of(x, b * cols, cols, bits, true);
        }
        for (int r0 = rowStart; r0 < rowEnd; r0 += BLOCK_ROWS) {
            int r1 = Math.min(rowEnd, r0 + BLOCK_ROWS);
            for (int b = 0; b < n; b++) {
                rows(in[b], y, b * rows, r0, r1);
            }
        }
    }

    private static final int BLOCK_ROWS = 16;

    /** Per-call scratch of the mapped integer kernels: chunk scales and zeros, and the identity chunk map. */
    private record Scratch(float[] sd, short[] zs, int[] xmap) {}

    @Override
    Object scratch() {
        if (!integerKernels) {
            return null;
        }
        int chunks = cols / IntKernels.CHUNK;
        int[] identity = new int[chunks];
        short[] zs = new short[chunks];
        for (int c = 0; c < chunks; c++) {
            identity[c] = c;
            zs[c] = 1;
        }
        return new Scratch(new float[chunks], zs, identity);
    }

    @Override
    float rowDot(int r, Input in, Object scratch) {
        if (!integerKernels) {
            return PackedKernels.dot(bits, run(r), g, in.x(), in.off(), in.groupSums(), 0);
        }
        if (rowKernels) {
            float[] y = new float[1];
            rows(bits == 4 ? in.q4() : in.q2(), y, -r, r, r + 1);
            return y[0];
        }
        Scratch sc = (Scratch) scratch;
        QuantizedInput q = bits == 4 ? in.q4() : in.q2();
        long firstGroup = spec.perTensor() ? 0 : (long) r * groupsPerRow, off = r * rowBytes;
        int chunks = cols / IntKernels.CHUNK;
        IntKernels.chunkScales(scales, 2 * firstGroup, groupShift, chunks, q, sc.xmap(), sc.sd());
        if (zeros != null) {
            IntKernels.chunkZeros(zeros, firstGroup * bits, bits, groupShift, chunks, sc.zs());
        }
        return bits == 4 ? IntKernels.int4Mapped(codes, off, chunks, q, sc.xmap(), sc.sd(), sc.zs())
                : IntKernels.int2Mapped(codes, off, chunks, q, sc.xmap(), sc.sd(), sc.zs());
    }

    @Override
    void rowDot4(int r, float[] x, int[] xb, float[] xsum, int[] xs, float[] out, Object scratch) {
        PackedKernels.dot4x(bits, run(r), g, x, xb, xsum, xs, out);
    }

    /** Scale of group {@code gi} of row {@code r}. */
    public float scale(int r, int gi) {
        return PackedKernels.f16(scales, spec.perTensor() ? 0 : 2 * ((long) r * groupsPerRow + gi));
    }

    /** Unsigned zero point of group {@code gi} of row {@code r} (2^(bits−1) when symmetric). */
    public int zero(int r, int gi) {
        if (zeros == null) {
            return 1 << (bits - 1);
        }
        return Packing.readBits(zeros, spec.perTensor() ? 0 : ((long) r * groupsPerRow + gi) * bits, bits);
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

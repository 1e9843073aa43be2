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
 */
public final class IntGroupMatrix extends PackedMatrix {
    private final int bits;
    private final MemorySegment codes, scales, zeros;
    private final long rowBytes;
    /** The symmetric zero in the kernels' code domain (8-bit codes are stored shifted by 128). */
    private final float kernelZero;

    private IntGroupMatrix(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        super(type, rows, cols, spec, null, sections);
        this.bits = type.codeBits();
        this.codes = sections().get(Section.CODES);
        this.scales = sections().get(Section.SCALES);
        this.zeros = sections().get(Section.ZEROS);
        this.rowBytes = PackedKernels.codeBytes(cols, bits);
        this.kernelZero = bits == 8 ? 0f : 1 << (bits - 1);
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

    private GroupRun run(int r) {
        boolean one = spec.perTensor();
        long firstScale = one ? 0 : (long) r * groupsPerRow;
        return new GroupRun(codes, r * rowBytes, groupsPerRow,
                scales, 2 * firstScale, one ? 0 : 2,
                zeros, firstScale * bits, one ? 0 : bits, kernelZero, null, 0);
    }

    @Override
    float rowDot(int r, float[] x, int xBase, float[] xsum, int xsBase, Object scratch) {
        return PackedKernels.dot(bits, run(r), g, x, xBase, xsum, xsBase);
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

package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A mixed matrix whose widths are chosen per column group, the same in every row (the target-bpw allocators', as EXL2's
 * per-slice widths), run as up to three uniform matrices over the column subsets of each width: {@code W·x = W₈·x₈ +
 * W₄·x₄ + W₂·x₂}, where {@code x_w} gathers the input columns of the width-w groups. Each part takes the uniform kernel of
 * its width (8-bit: 16-bit products on {@link ByteRows}; 4-bit: nibble products; 2-bit: byte tables on {@link
 * PlaneRows}), so a mixed matrix costs what its parts cost at their own widths: in proportion to its bits, which the
 * 16-row tiles of {@link MixedPlanes} do not reach (2.4x, 1.9x and 1.5x the uniform kernels per weight,
 * bench/results/mixed-tiles-2026-12-04.md). Inputs are gathered and quantized per part and thread; that is O(cols) against
 * the O(rows·cols) product.
 *
 * <p>Because every row stores its groups in the same order (8-bit, then 4-bit, then 2-bit, ascending; {@link
 * MixedLayout}), a part's row is one contiguous run of the stored codes, copied as an integer matrix's row is.
 */
final class MixedColumns {
    /** Code width of each part, in stored order (as {@link MixedLayout#BITS}). */
    private static final int[] BITS = MixedLayout.BITS;

    private final int rows, cols, g;
    /** Per part: the groups it holds (ascending), or null when no group has its width. */
    private final int[][] groups;
    private final ByteRows int8, int4;
    private final PlaneRows int2;

    /** The largest row block among its parts' copies ({@link WeightMatrix#rowBlock}), read at every product. */
    private final int rowBlock;

    int rowBlock() {
        return rowBlock;
    }

    private MixedColumns(int rows, int cols, int g, int[][] groups, ByteRows int8, ByteRows int4, PlaneRows int2) {
        this.rows = rows;
        this.cols = cols;
        this.g = g;
        this.groups = groups;
        this.int8 = int8;
        this.int4 = int4;
        this.int2 = int2;
        int b = io.nashswarm.kernel.Parallel.ROW_ALIGN;
        for (ByteRows part : new ByteRows[] {int8, int4}) {
            b = part == null ? b : Math.max(b, part.rowBlock());
        }
        this.rowBlock = int2 == null ? b : Math.max(b, PlaneRows.ROWS);
    }

    /**
     * The parts of {@code m}, or null when its widths differ between rows of some group, or a part's uniform kernel does
     * not take its groups (8-bit: groups of 32k; 4- and 2-bit: 64k; 2-bit: 512-bit vectors for the byte tables).
     */
    static MixedColumns of(MixedGroupMatrix m, MemorySegment codes, MemorySegment scales, MemorySegment zeros) {
        MixedLayout layout = m.layout();
        int rows = m.rows(), cols = m.cols(), g = m.spec().groupSize(), gpr = cols / g;
        int[] count = new int[3];
        int[][] groups = new int[3][gpr];
        for (int gi = 0; gi < gpr; gi++) {
            int c = layout.widthClass(0, gi);
            groups[c][count[c]++] = gi;
        }
        if (m.widthsChangeDownColumns()) {
            return null;
        }
        if (count[0] > 0 && g % 32 != 0 || (count[1] > 0 || count[2] > 0) && g % 64 != 0 || count[2] > 0 && !LutKernels.NATIVE) {
            return null;
        }
        for (int c = 0; c < 3; c++) {
            groups[c] = count[c] == 0 ? null : java.util.Arrays.copyOf(groups[c], count[c]);
        }
        boolean withZeros = zeros != null;
        ByteRows.GroupRows[] src = new ByteRows.GroupRows[3];
        for (int c = 0; c < 3; c++) {
            int part = c, bits = BITS[c];
            // the kernels' zero conventions: signed z − 128 (8-bit), z − 8 (nibbles), unsigned (plane rows)
            int zeroShift = bits == 8 ? 128 : bits == 4 ? 8 : 0;
            src[c] = (r, code, s, z) -> {
                MixedLayout.Span run = layout.span(r, part);
                Packing.unpackBytes(codes, run.codeOff(), bits, run.groups() * g, code); // 8-bit: the stored u − 128
                MemorySegment.copy(scales, PackedKernels.F16, 2 * run.scaleIndex(), s, 0, run.groups());
                for (int k = 0; withZeros && k < run.groups(); k++) {
                    z[k] = (byte) (Packing.readBits(zeros, run.zeroBit() + (long) bits * k, bits) - zeroShift);
                }
            };
        }
        return new MixedColumns(rows, cols, g, groups,
                count[0] > 0 ? ByteRows.ofGroups(rows, count[0] * g, g, withZeros, src[0]) : null,
                count[1] > 0 ? ByteRows.ofNibbleGroups(rows, count[1] * g, g, withZeros, src[1]) : null,
                count[2] > 0 ? PlaneRows.of(rows, count[2] * g, g, withZeros, src[2]) : null);
    }

    /** Whether every row of {@code m} has row 0's width in every group column (the target-bpw allocators' maps). */
    static boolean sameWidthsDownColumns(MixedGroupMatrix m) {
        MixedLayout layout = m.layout();
        int gpr = m.cols() / m.spec().groupSize();
        for (int r = 1; r < m.rows(); r++) {
            for (int gi = 0; gi < gpr; gi++) {
                if (layout.width(r, gi) != layout.width(0, gi)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** {@code y[b·rows + r] = row r · input b} (inputs at {@code x[b·cols]}) for rows r0..r1 and inputs b < n. */
    void products(float[] x, int n, float[] y, int r0, int r1) {
        Scratch s = SCRATCH.get();
        boolean first = true;
        for (int c = 0; c < 3; c++) {
            if (groups[c] == null) {
                continue;
            }
            int partCols = groups[c].length * g;
            float[] xs = s.x(c, n * partCols);
            for (int b = 0; b < n; b++) {
                for (int k = 0; k < groups[c].length; k++) {
                    System.arraycopy(x, b * cols + groups[c][k] * g, xs, b * partCols + k * g, g);
                }
            }
            float[] out = first ? y : s.y(n * rows);
            switch (BITS[c]) {
                case 8 -> ByteRowKernels.products(int8, xs, n, out, r0, r1);
                case 4 -> ByteRowKernels.products(int4, xs, n, out, r0, r1);
                default -> LutKernels.products(int2, xs, n, out, r0, r1);
            }
            if (!first) {
                for (int b = 0; b < n; b++) {
                    for (int r = b * rows + r0; r < b * rows + r1; r++) {
                        y[r] += out[r];
                    }
                }
            }
            first = false;
        }
    }

    /** A thread's gathered inputs (one per part: the kernels keep each quantized input apart) and partial outputs. */
    private static final class Scratch {
        private final float[][] x = new float[3][0];
        private float[] y = new float[0];

        float[] x(int part, int length) {
            if (x[part].length < length) {
                x[part] = new float[length];
            }
            return x[part];
        }

        float[] y(int length) {
            if (y.length < length) {
                y = new float[length];
            }
            return y;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
}

package io.nashswarm.tensor;

import io.nashswarm.kernel.HugePages;

import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Codes of up to 8 bits repacked for the 16-bit product kernels ({@link ByteRowKernels}): one signed byte per
 * weight, a block of rows side by side, so that one load and one 16-bit multiply by a broadcast input integer serve
 * the whole block for one column. Made once per matrix from its stored codes, off-heap.
 *
 * <h2>Why not table lookup</h2>
 * A lookup costs one permute per plane and 4 columns, so 8-bit codes cost 8 and 6-bit codes 6; a multiply costs the
 * same for every width up to 8 bits. Measured in bench/results/byte-rows-2026-12-03.md.
 *
 * <h2>Layout</h2>
 * Rows go in blocks of {@link #ROWS} (the lanes of the machine's preferred 16-bit vector: 32 with AVX-512, 16 with
 * AVX2); the last block is padded with zero codes and scales.
 * <ul>
 *   <li>codes: block {@code rb}, column {@code c}: {@link #ROWS} signed bytes at {@code (rb·cols + c)·ROWS}, byte lane
 *       {@code j} holding row {@link #row(int) row(j)}: even lanes the block's first half of rows, odd lanes its second
 *       half, so that the kernels' 16-bit sums, split into the low and high halves of 32-bit lanes by shifts, give the
 *       two halves of the rows in order;</li>
 *   <li>groups ({@link #ofGroups}): per block and group of {@link #group} columns, the rows' fp16 scales in row order,
 *       and for asymmetric codes their zeros as signed bytes: a weight is {@code s·(code − zero)};</li>
 *   <li>super-blocks ({@link #ofSuperBlocks}, ggml's Q6_K): six bits per code as in the file, {@code u = code + 32}
 *       in 0..63: its low four bits as {@link #ofNibbles nibbles} (columns 2p and 2p + 1 in one byte per row), its two
 *       high bits in {@link #highs}, per block and group of four columns one byte per row (column 4q + k in bits
 *       2k..2k+1); per block and sub-block of 16 columns the rows' int8 sub-scales, and per block and super-block of
 *       256 their float scales: a weight is {@code d·sub·(u − 32)};</li>
 *   <li>nibbles ({@link #ofNibbles}, ggml's Q4_K): codes 0..15, columns 2p and 2p + 1 in the low and high nibble of one
 *       byte per row; per sub-block of 32 the rows' scales and minimums (0..63), per super-block of 256 their float
 *       {@code d} and {@code dmin}: a weight is {@code d·sub·code − dmin·min};</li>
 *   <li>nibble groups ({@link #ofNibbleGroups}, ggml's Q4_0): the codes as nibbles, per group of 32 the rows' fp16
 *       scales: a weight is {@code d·(code − 8)}.</li>
 * </ul>
 */
final class ByteRows {
    static final int ROWS = ShortVector.SPECIES_PREFERRED.length();
    static final int SUB = 16, SUPER = 256;

    final int rows, cols, blocks, group, groups;
    final MemorySegment codes;
    /** Groups: fp16 scales per (block, group, row); super-blocks: float scales per (block, super-block, row). */
    final MemorySegment scales;
    /** Asymmetric groups: zeros per (block, group, row); else null. */
    final MemorySegment zeros;
    /** Super-blocks: int8 sub-scales per (block, sub-block, row); else null. */
    final MemorySegment subScales;
    /** Super-blocks (6-bit codes): the codes' two high bits, four columns per (block, group of four, row); else null. */
    final MemorySegment highs;
    /**
     * Nibbles (Q4_K, Q4_0): unsigned codes two to a byte; Q4_K's int8 sub-block minimums and float minimum scales as the
     * scales; else null.
     */
    final MemorySegment subMins, minScales;
    final boolean nibbles;

    /** A matrix in groups, row by row. */
    interface GroupRows {
        /** Writes row r's signed codes ({@code cols}), its fp16 scale bits and, for asymmetric codes, its signed zeros (one per group). */
        void row(int r, byte[] codes, short[] scales, byte[] zeros);
    }

    /** A matrix in super-blocks of 256 with sub-blocks of 16 (Q6_K), row by row. */
    interface SuperBlockRows {
        /** Writes row r's codes ({@code cols}, each in −32..31), its int8 sub-scales and its super-block scales. */
        void row(int r, byte[] codes, byte[] subScales, float[] scales);
    }

    private ByteRows(int rows, int cols, int group, long scaleBytes, boolean withZeros, int sub, boolean nibbles) {
        this.rows = rows;
        this.cols = cols;
        this.group = group;
        this.groups = cols / group;
        this.nibbles = nibbles;
        this.blocks = (rows + ROWS - 1) / ROWS;
        boolean six = sub > 0 && !nibbles;
        this.codes = HugePages.allocate((long) blocks * (nibbles || six ? cols / 2 : cols) * ROWS);
        this.highs = six ? HugePages.allocate((long) blocks * (cols / 4) * ROWS) : null;
        this.scales = HugePages.allocate((long) blocks * groups * ROWS * scaleBytes);
        this.zeros = withZeros ? HugePages.allocate((long) blocks * groups * ROWS) : null;
        this.subScales = sub > 0 ? HugePages.allocate((long) blocks * (cols / sub) * ROWS) : null;
        this.subMins = nibbles && sub > 0 ? HugePages.allocate((long) blocks * (cols / sub) * ROWS) : null;
        this.minScales = nibbles && sub > 0 ? HugePages.allocate((long) blocks * groups * ROWS * scaleBytes) : null;
        BitPlanes.track(this, bytes());
    }

    /**
     * Repacks codes in groups of {@code group} columns (a multiple of 32 that divides {@code cols}) with an fp16 scale
     * each and, {@code withZeros}, a signed zero.
     */
    static ByteRows ofGroups(int rows, int cols, int group, boolean withZeros, GroupRows src) {
        if (group % 32 != 0 || cols % group != 0) {
            throw new IllegalArgumentException("byte rows need groups of 32k columns that divide the rows: " + group + ", " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, group, 2, withZeros, 0, false);
        short[] s = new short[p.groups];
        byte[] z = new byte[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, s, z);
            } else {
                java.util.Arrays.fill(s, (short) 0);
                java.util.Arrays.fill(z, (byte) 0);
            }
        }, (rb, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                long at = ((long) rb * p.groups + gi) * ROWS + i;
                p.scales.set(PackedKernels.F16, 2 * at, s[gi]);
                if (p.zeros != null) {
                    p.zeros.set(ValueLayout.JAVA_BYTE, at, z[gi]);
                }
            }
        });
        return p;
    }

    /** Repacks codes in super-blocks of 256 columns with float scales and sub-blocks of 16 with int8 sub-scales. */
    static ByteRows ofSuperBlocks(int rows, int cols, SuperBlockRows src) {
        if (cols % SUPER != 0) {
            throw new IllegalArgumentException("byte rows in super-blocks need whole super-blocks of " + SUPER + ": " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, SUPER, 4, false, SUB, false);
        byte[] sub = new byte[cols / SUB];
        float[] d = new float[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, sub, d);
            } else {
                java.util.Arrays.fill(sub, (byte) 0);
                java.util.Arrays.fill(d, 0f);
            }
        }, (rb, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                p.scales.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * (((long) rb * p.groups + gi) * ROWS + i), d[gi]);
            }
            for (int k = 0; k < sub.length; k++) {
                p.subScales.set(ValueLayout.JAVA_BYTE, ((long) rb * sub.length + k) * ROWS + i, sub[k]);
            }
        });
        return p;
    }

    /** A matrix in super-blocks of 256 with sub-blocks of 32 that have a scale and a minimum each (Q4_K), row by row. */
    interface NibbleRows {
        /**
         * Writes row r's codes ({@code cols}, each in 0..15), its sub-block scales and minimums (0..63) and its
         * super-blocks' scales and minimum scales: a weight is {@code d·sub·code − dmin·min}.
         */
        void row(int r, byte[] codes, byte[] subScales, byte[] subMins, float[] scales, float[] minScales);
    }

    /** Repacks 4-bit codes in super-blocks of 256 columns with sub-blocks of 32 (ggml's Q4_K), two columns to a byte. */
    static ByteRows ofNibbles(int rows, int cols, NibbleRows src) {
        if (cols % SUPER != 0) {
            throw new IllegalArgumentException("nibble rows need whole super-blocks of " + SUPER + ": " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, SUPER, 4, false, 32, true);
        byte[] sub = new byte[cols / 32], mins = new byte[cols / 32];
        float[] d = new float[p.groups], dmin = new float[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, sub, mins, d, dmin);
            } else {
                java.util.Arrays.fill(sub, (byte) 0);
                java.util.Arrays.fill(mins, (byte) 0);
                java.util.Arrays.fill(d, 0f);
                java.util.Arrays.fill(dmin, 0f);
            }
        }, (rb, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                long at = 4 * (((long) rb * p.groups + gi) * ROWS + i);
                p.scales.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, d[gi]);
                p.minScales.set(ValueLayout.JAVA_FLOAT_UNALIGNED, at, dmin[gi]);
            }
            for (int k = 0; k < sub.length; k++) {
                long at = ((long) rb * sub.length + k) * ROWS + i;
                p.subScales.set(ValueLayout.JAVA_BYTE, at, sub[k]);
                p.subMins.set(ValueLayout.JAVA_BYTE, at, mins[k]);
            }
        });
        return p;
    }

    /**
     * Repacks 4-bit codes (0..15) in groups of 32 columns with an fp16 scale each and the fixed zero 8 (ggml's Q4_0:
     * {@code w = d·(q − 8)}), two columns to a byte; {@code src} writes a row's codes and scales (no zeros).
     */
    static ByteRows ofNibbleGroups(int rows, int cols, GroupRows src) {
        if (cols % 32 != 0) {
            throw new IllegalArgumentException("nibble groups need whole groups of 32: " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, 32, 2, false, 0, true);
        short[] s = new short[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, s, null);
            } else {
                java.util.Arrays.fill(s, (short) 0);
            }
        }, (rb, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                p.scales.set(PackedKernels.F16, 2 * (((long) rb * p.groups + gi) * ROWS + i), s[gi]);
            }
        });
        return p;
    }

    private interface RowReader {
        /** Reads row r (r ≥ rows: padding) into u and the reader's own parameter arrays. */
        void read(int r, byte[] u);
    }

    private interface ParamWriter {
        /** Writes the parameters just read as row i of block rb. */
        void write(int rb, int i);
    }

    private void fill(RowReader reader, ParamWriter params) {
        byte[][] u = new byte[ROWS][cols];
        byte[] column = new byte[ROWS];
        for (int rb = 0; rb < blocks; rb++) {
            for (int i = 0; i < ROWS; i++) {
                int r = rb * ROWS + i;
                if (r >= rows) {
                    java.util.Arrays.fill(u[i], (byte) 0);
                }
                reader.read(r, u[i]);
                params.write(rb, i);
            }
            if (highs != null) { // 6-bit codes u = code + 32: low nibbles as below, then the high bits four columns to a byte
                for (int i = 0; i < ROWS; i++) {
                    for (int c = 0; c < cols; c++) {
                        u[i][c] += 32;
                    }
                }
                for (int q = 0; q < cols / 4; q++) {
                    for (int j = 0; j < ROWS; j++) {
                        byte[] ur = u[row(j)];
                        column[j] = (byte) (ur[4 * q] >> 4 & 3 | (ur[4 * q + 1] >> 4 & 3) << 2 | (ur[4 * q + 2] >> 4 & 3) << 4 | (ur[4 * q + 3] >> 4 & 3) << 6);
                    }
                    MemorySegment.copy(column, 0, highs, ValueLayout.JAVA_BYTE, ((long) rb * cols / 4 + q) * ROWS, ROWS);
                }
            }
            if (nibbles || highs != null) { // columns 2p and 2p + 1 in the low and high nibble
                for (int p = 0; p < cols / 2; p++) {
                    for (int j = 0; j < ROWS; j++) {
                        column[j] = (byte) (u[row(j)][2 * p] & 0x0F | u[row(j)][2 * p + 1] << 4);
                    }
                    MemorySegment.copy(column, 0, codes, ValueLayout.JAVA_BYTE, ((long) rb * cols / 2 + p) * ROWS, ROWS);
                }
                continue;
            }
            for (int c = 0; c < cols; c++) {
                for (int j = 0; j < ROWS; j++) {
                    column[j] = u[row(j)][c];
                }
                MemorySegment.copy(column, 0, codes, ValueLayout.JAVA_BYTE, ((long) rb * cols + c) * ROWS, ROWS);
            }
        }
    }

    /** Row of a block held by byte lane {@code j}. */
    static int row(int j) {
        return (j & 1) == 0 ? j >> 1 : ROWS / 2 + (j >> 1);
    }

    /** Off-heap bytes of this copy. */
    long bytes() {
        return codes.byteSize() + scales.byteSize() + (zeros == null ? 0 : zeros.byteSize()) + (subScales == null ? 0 : subScales.byteSize())
                + (highs == null ? 0 : highs.byteSize())
                + (subMins == null ? 0 : subMins.byteSize() + minScales.byteSize());
    }

    /** The code of (r, c), read back from the copy (for tests of the layout): signed (Q6_K's in −32..31), or 0..15 for nibbles. */
    int code(int r, int c) {
        int i = r % ROWS, j = i < ROWS / 2 ? 2 * i : 2 * (i - ROWS / 2) + 1;
        if (nibbles || highs != null) {
            int low = codes.get(ValueLayout.JAVA_BYTE, ((long) (r / ROWS) * cols / 2 + c / 2) * ROWS + j) >> (4 * (c & 1)) & 0x0F;
            if (highs == null) {
                return low;
            }
            int high = highs.get(ValueLayout.JAVA_BYTE, ((long) (r / ROWS) * cols / 4 + c / 4) * ROWS + j) >> (2 * (c & 3)) & 3;
            return (high << 4 | low) - 32;
        }
        return codes.get(ValueLayout.JAVA_BYTE, ((long) (r / ROWS) * cols + c) * ROWS + j);
    }
}

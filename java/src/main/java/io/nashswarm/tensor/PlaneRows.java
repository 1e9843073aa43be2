package io.nashswarm.tensor;

import io.nashswarm.kernel.HugePages;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * 2-bit codes in groups of 64k columns repacked for the byte-table kernel ({@link LutKernels#planeRows}): bit-plane
 * nibbles of {@value #ROWS} rows side by side, so that one 64-byte permute of an int8 table ({@link LutInput#ofBytes})
 * gives all the block's rows their partial sums for one plane and 4 columns. Made once per matrix from its stored
 * codes, off-heap, in one stream per block of rows (a decode step reads it from DRAM).
 *
 * <h2>Layout</h2>
 * Rows go in blocks of {@value #ROWS}, the last padded with zero codes and scales. Byte lane {@code j} holds row
 * {@link #row(int) row(j)} = {@code 16·(j mod 4) + ⌊j/4⌋}, so that the kernel's 16-bit sums, split by shifts into the low
 * and high bytes and then the low and high halves of 32-bit lanes, give the four quarters of the block in row order. Per block and group of {@link #group} columns:
 * per 4 columns ({@code 4s .. 4s + 3}) 64 bytes, row's byte = plane-0 nibble | plane-1 nibble {@code << 4} (bit k of
 * a plane's nibble is that bit of the code of column {@code 4s + k}); then the rows' fp16 scales in row order and,
 * for asymmetric codes, their zeros 0..3, a byte each ({@link #groupBytes}). A weight is {@code s·(u − z)}.
 */
final class PlaneRows {
    static final int ROWS = 64;

    final int rows, cols, group, groups, blocks;
    final boolean withZeros;
    /** Bytes per block of rows. */
    final long blockBytes;
    final MemorySegment data;

    /** Bytes per block of rows and group of {@code group} columns: the codes, the scales and, with zeros, the zeros. */
    static long groupBytes(int group, boolean withZeros) {
        return (long) (group / 4 + 2 + (withZeros ? 1 : 0)) * ROWS;
    }

    private PlaneRows(int rows, int cols, int group, boolean withZeros) {
        this.rows = rows;
        this.cols = cols;
        this.group = group;
        this.groups = cols / group;
        this.blocks = (rows + ROWS - 1) / ROWS;
        this.withZeros = withZeros;
        this.blockBytes = groups * groupBytes(group, withZeros);
        this.data = HugePages.allocate(blocks * blockBytes);
        BitPlanes.track(this, data.byteSize());
    }

    /**
     * Repacks codes 0..3 in groups of {@code group} columns (a multiple of 64 that divides {@code cols}); {@code src}
     * writes each row's unsigned codes, its fp16 scales and, {@code withZeros}, its zeros 0..3.
     */
    static PlaneRows of(int rows, int cols, int group, boolean withZeros, ByteRows.GroupRows src) {
        if (group % 64 != 0 || cols % group != 0) {
            throw new IllegalArgumentException("plane rows need groups of 64k columns that divide the rows: " + group + ", " + cols);
        }
        PlaneRows p = new PlaneRows(rows, cols, group, withZeros);
        byte[][] u = new byte[ROWS][cols];
        short[][] s = new short[ROWS][p.groups];
        byte[][] z = new byte[ROWS][p.groups];
        byte[][] planes = new byte[ROWS][cols / 4]; // per row and 4 columns its byte: plane-0 nibble | plane-1 nibble << 4
        // a block is made in a heap array and copied whole (in place it took a copy per 64 bytes and 30 bit operations per byte)
        byte[] stage = new byte[Math.toIntExact(p.blockBytes)];
        int gb = (int) groupBytes(group, withZeros);
        for (int rb = 0; rb < p.blocks; rb++) {
            for (int i = 0; i < ROWS; i++) {
                int r = rb * ROWS + i;
                if (r < rows) {
                    src.row(r, u[i], s[i], z[i]);
                } else {
                    java.util.Arrays.fill(u[i], (byte) 0);
                    java.util.Arrays.fill(s[i], (short) 0);
                    java.util.Arrays.fill(z[i], (byte) 0);
                }
                for (int c = 0; c < cols; c += 8) { // eight codes (a byte each): their low bits and their high bits
                    long v = (long) CODES.get(u[i], c);
                    long lo = Long.compress(v, 0x0101010101010101L), hi = Long.compress(v, 0x0202020202020202L);
                    planes[i][c >> 2] = (byte) (lo & 0x0F | hi << 4);
                    planes[i][(c >> 2) + 1] = (byte) (lo >> 4 & 0x0F | hi & 0xF0);
                }
            }
            for (int gi = 0; gi < p.groups; gi++) {
                int at = gi * gb;
                for (int q = 0; q < group / 4; q++) {
                    int qc = gi * group / 4 + q;
                    for (int j = 0; j < ROWS; j++) {
                        stage[at + ROWS * q + j] = planes[row(j)][qc];
                    }
                }
                int sa = at + ROWS * (group / 4);
                for (int i = 0; i < ROWS; i++) {
                    SCALE.set(stage, sa + 2 * i, s[i][gi]);
                    if (withZeros) {
                        stage[sa + 2 * ROWS + i] = z[i][gi];
                    }
                }
            }
            MemorySegment.copy(stage, 0, p.data, ValueLayout.JAVA_BYTE, rb * p.blockBytes, stage.length);
        }
        return p;
    }

    private static final VarHandle CODES = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SCALE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** Row of a block held by byte lane {@code j}. */
    static int row(int j) {
        return 16 * (j & 3) + (j >> 2);
    }

    /** The code 0..3 of (r, c), read back from the copy (for tests of the layout). */
    int code(int r, int c) {
        int i = r % ROWS, j = 4 * (i % 16) + i / 16;
        long at = r / ROWS * blockBytes + (long) (c / group) * groupBytes(group, withZeros) + (long) (c % group / 4) * ROWS + j;
        int b = data.get(ValueLayout.JAVA_BYTE, at), k = c & 3;
        return (b >> k & 1) | (b >> (4 + k) & 1) << 1;
    }

    /** Off-heap bytes of this copy. */
    long bytes() {
        return data.byteSize();
    }
}

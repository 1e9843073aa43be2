package io.nashswarm.tensor;

import io.nashswarm.kernel.HugePages;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

import static io.nashswarm.tensor.PackedKernels.F16;

/**
 * Integer group codes repacked for the table-lookup kernels ({@link LutKernels}): bit planes, 16 rows
 * side by side, so that one byte shuffle of a 16-entry table ({@link LutInput}) gives 16 rows' partial
 * sums for one group of 4 columns. Made once per matrix from its stored codes, in off-heap memory.
 *
 * <h2>Layout</h2>
 * Rows go in blocks of {@value #ROWS} (the last block padded with zero codes and zero scales). Within a
 * block, byte lane {@code j} of every vector holds row {@link #row(int) row(j)}: even lanes rows 0..7, odd
 * lanes rows 8..15, so that the kernels' 16-bit sums split into even and odd lanes by shifts give rows
 * 0..7 and 8..15 in order (no lane-crossing shuffle).
 * <ul>
 *   <li>codes: for block {@code rb}, chunk {@code c} of 64 columns, column group {@code a} (0..15, columns
 *       {@code 64c + 4a .. +3}) and plane pair {@code p} (0 .. bits/2 − 1): 16 bytes at
 *       {@link #codeOffset}; byte j = nibble of plane {@code 2p} | nibble of plane {@code 2p+1} {@code << 4}
 *       of row(j), bit i of a nibble being bit k of the code of column {@code 4a + i};</li>
 * <li>scales and zeros: per block and group, the 16 rows' fp16 scales side by side (32 bytes) and, for
 *     asymmetric codes, their zeros (16 bytes), so that a kernel loads them as one vector per chunk.</li>
 * </ul>
 * The copy takes exactly the bytes of the stored codes and scales, zeros at a byte each (plus row padding).
 */
final class BitPlanes {
    static final int ROWS = 16;
    static final int CHUNK = LutInput.CHUNK;
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong RESIDENT = new AtomicLong();

    final int bits, rows, cols, blocks, chunks, groups, shift;
    /** Groups per chunk: 1 (groups of 64 columns or more), 2 for groups of 32 (ggml blocks), 4 for groups of 16 (Q2_K, Q3_K). */
    final int parts;
    /** 0, 1, .., chunks·parts − 1: the kernels' list of a block's chunks, or half chunks for groups of 32 (a mixed matrix lists each width's chunks). */
    final int[] chunkList;
    /** The copy of the codes. */
    final MemorySegment codes;
    /** The scales of each block's 16 rows side by side, fp16, for one group after another ({@link #scaleOffset}); padded rows 0. */
    final MemorySegment scales16;
    /** Asymmetric codes: the zeros of each block's 16 rows side by side, a byte each ({@link #zeroOffset}); else null. */
    final MemorySegment zeros8;
    /** Codes with fp16 minimums instead (ggml's Q4_K, {@code w = s·u − m}): laid out as {@link #scales16}; else null. */
    final MemorySegment mins16;
    /**
     * A power of two the products are multiplied by (exactly): the scales and minimums were stored times its inverse,
     * so that a matrix's whole range sits among fp16's normal numbers (Q4_K's {@code d·scale} need not). Set before the
     * copy is published.
     */
    float outScale = 1f;
    /**
     * For 5- and 6-bit codes ({@link #ofWide}): planes 4–5 as a 2-bit copy (int2 layout, no scales of its own), which
     * the kernel adds with weight 16 using this copy's scales; else null. Set before the copy is published.
     */
    BitPlanes high;
    private final MemorySegment scales, zeros;
    private final boolean perTensor;

    private BitPlanes(int bits, int rows, int cols, int groups, int shift, int parts, MemorySegment scales, MemorySegment zeros, boolean perTensor) {
        this(bits, rows, cols, groups, shift, parts, scales, zeros, perTensor, false);
    }

    private BitPlanes(int bits, int rows, int cols, int groups, int shift, int parts, MemorySegment scales, MemorySegment zeros, boolean perTensor,
                      boolean mins) {
        this.bits = bits;
        this.parts = parts;
        this.rows = rows;
        this.cols = cols;
        this.blocks = (rows + ROWS - 1) / ROWS;
        this.chunks = cols / CHUNK;
        this.chunkList = java.util.stream.IntStream.range(0, chunks * parts).toArray();
        this.groups = groups;
        this.shift = shift;
        this.scales = scales;
        this.zeros = zeros;
        this.perTensor = perTensor;
        this.codes = HugePages.allocate(codeOffset(blocks, 0, 0, 0));
        this.scales16 = HugePages.allocate(scaleOffset(blocks, 0));
        this.zeros8 = zeros == null ? null : HugePages.allocate(zeroOffset(blocks, 0));
        this.mins16 = mins ? HugePages.allocate(scaleOffset(blocks, 0)) : null;
        track(this, bytes());
    }

    /** Counts {@code bytes} of off-heap copy in {@link #residentBytes} while {@code owner} is reachable. */
    static void track(Object owner, long bytes) {
        RESIDENT.addAndGet(bytes);
        CLEANER.register(owner, () -> RESIDENT.addAndGet(-bytes));
    }

    /** Row of a block held by byte lane {@code j}. */
    static int row(int j) {
        return (j & 1) == 0 ? j >> 1 : ROWS / 2 + (j >> 1);
    }

    /** Bytes per column group of 4 (one 16-byte vector per plane pair). */
    int groupBytes() {
        return 8 * bits;
    }

    long codeOffset(int rb, int c, int a, int pair) {
        return (((long) rb * chunks + c) * 16 + a) * groupBytes() + 16L * pair;
    }

    /** Index of row r's group gi among the stored scales and zeros. */
    private long group(int r, int gi) {
        return perTensor ? 0 : (long) r * groups + gi;
    }

    /** Byte offset of block {@code rb}'s 16 fp16 scales of group gi in {@link #scales16}. */
    long scaleOffset(int rb, int gi) {
        return 32L * ((long) rb * groups + gi);
    }

    /** Byte offset of block {@code rb}'s 16 zeros of group gi in {@link #zeros8}. */
    long zeroOffset(int rb, int gi) {
        return 16L * ((long) rb * groups + gi);
    }

    /** Off-heap bytes of this copy. */
    long bytes() {
        return codes.byteSize() + scales16.byteSize() + (zeros8 == null ? 0 : zeros8.byteSize()) + (mins16 == null ? 0 : mins16.byteSize());
    }

    /** Off-heap bytes of every repacked matrix still reachable in this process (for memory reports). */
    static long residentBytes() {
        return RESIDENT.get();
    }

    /**
     * Repacks the codes of {@code m}: {@code groups} scales per row; groups that are whole chunks
     * ({@link IntKernels#fits}, {@code parts} 1) give chunk c the row's scale {@code c >> shift}, groups of 32
     * ({@code parts} 2, {@code shift} 0) give half-chunk h of the row scale h.
     */
    static BitPlanes of(IntGroupMatrix m, int groups, int shift, int parts, MemorySegment scales, MemorySegment zeros, boolean perTensor) {
        int bits = m.bits(), rows = m.rows(), cols = m.cols();
        BitPlanes p = new BitPlanes(bits, rows, cols, groups, shift, parts, scales, zeros, perTensor);
        int[][] u = new int[ROWS][cols];
        byte[] vec = new byte[16];
        for (int rb = 0; rb < p.blocks; rb++) {
            for (int j = 0; j < ROWS; j++) {
                int r = rb * ROWS + row(j);
                if (r < rows) {
                    m.codes(r, u[j]);
                } else {
                    java.util.Arrays.fill(u[j], 0);
                }
            }
            for (int j = 0; j < ROWS && scales != null; j++) {
                int r = rb * ROWS + j;
                for (int gi = 0; gi < groups; gi++) {
                    if (r < rows) {
                        long k = p.group(r, gi);
                        p.scales16.set(F16, p.scaleOffset(rb, gi) + 2L * j, scales.get(F16, 2 * k));
                        if (zeros != null) {
                            p.zeros8.set(ValueLayout.JAVA_BYTE, p.zeroOffset(rb, gi) + j, (byte) Packing.readBits(zeros, k * bits, bits));
                        }
                    }
                }
            }
            for (int c = 0; c < p.chunks; c++) {
                writeChunk(u, c * CHUNK, bits, p.codes, p.codeOffset(rb, c, 0, 0), vec);
            }
        }
        return p;
    }

    /** A matrix of ggml-style blocks: each row's unsigned codes and the fp16 bits of its sub-blocks' scales and minimums. */
    interface BlockRows {
        /**
         * Writes row r's codes ({@code cols}), its scales and its minimums (one per group of 32, or of 16 for Q2_K and
         * Q3_K): each {@code u} means {@code d·u − m}.
         */
        void row(int r, int[] codes, short[] scales, short[] mins);
    }

    /**
     * Repacks 4-bit codes in groups of {@code groupCols} (32) columns with one fp16 scale and one fp16 minimum each (Q4_1's
     * blocks); {@link #parts} 64 / groupCols; {@code cols} a multiple of 64.
     */
    static BitPlanes ofBlocks(int bits, int rows, int cols, int groupCols, BlockRows src) {
        if (groupCols != 32) { // the kernel walks whole or half chunks of 64 (LutKernels.products)
            throw new IllegalArgumentException("lookup blocks need groups of 32 columns: " + groupCols);
        }
        int groups = cols / groupCols;
        BitPlanes p = new BitPlanes(bits, rows, cols, groups, 0, CHUNK / groupCols, null, null, false, true);
        fill(p, null, groups, src);
        return p;
    }

    /**
     * Codes of 5 bits in groups of {@code groupCols} (32) with one fp16 scale and one fp16 minimum each (ggml's Q5_0,
     * Q5_1). Returns planes 0–3 as 4-bit codes with the scales and minimums, holding planes 4–5 as 2-bit codes in
     * {@link #high} (the int2 layout, two column groups per 32 bytes), which the kernel adds with weight 16 using the
     * first copy's scales.
     */
    static BitPlanes ofWide(int rows, int cols, int groupCols, BlockRows src) {
        if (groupCols != 32) {
            throw new IllegalArgumentException("lookup blocks need groups of 32 columns: " + groupCols);
        }
        int groups = cols / groupCols, parts = CHUNK / groupCols;
        BitPlanes low = new BitPlanes(4, rows, cols, groups, 0, parts, null, null, false, true);
        low.high = new BitPlanes(2, rows, cols, 0, 0, parts, null, null, false, false);
        fill(low, low.high, groups, src);
        return low;
    }

    /** Writes the rows of src into p (and, for 6-bit codes, planes 4–5 into high), block by block. */
    private static void fill(BitPlanes p, BitPlanes high, int groups, BlockRows src) {
        int rows = p.rows, cols = p.cols, bits = p.bits;
        int[][] u = new int[ROWS][cols], hi = high == null ? null : new int[ROWS][cols];
        short[][] s = new short[ROWS][groups], m = new short[ROWS][groups];
        byte[] vec = new byte[16];
        for (int rb = 0; rb < p.blocks; rb++) {
            for (int j = 0; j < ROWS; j++) {
                int i = row(j), r = rb * ROWS + i; // codes in lane order, scales by row
                if (r < rows) {
                    src.row(r, u[j], s[i], m[i]);
                } else {
                    java.util.Arrays.fill(u[j], 0);
                    java.util.Arrays.fill(s[i], (short) 0);
                    java.util.Arrays.fill(m[i], (short) 0);
                }
            }
            for (int i = 0; i < ROWS; i++) {
                for (int gi = 0; gi < groups; gi++) {
                    p.scales16.set(F16, p.scaleOffset(rb, gi) + 2L * i, s[i][gi]);
                    p.mins16.set(F16, p.scaleOffset(rb, gi) + 2L * i, m[i][gi]);
                }
            }
            if (high != null) {
                for (int j = 0; j < ROWS; j++) {
                    for (int c = 0; c < cols; c++) {
                        hi[j][c] = u[j][c] >>> 4;
                        u[j][c] &= 0x0F;
                    }
                }
            }
            for (int c = 0; c < p.chunks; c++) {
                writeChunk(u, c * CHUNK, bits, p.codes, p.codeOffset(rb, c, 0, 0), vec);
                if (high != null) {
                    writeChunk(hi, c * CHUNK, 2, high.codes, high.codeOffset(rb, c, 0, 0), vec);
                }
            }
        }
    }

    /**
     * Writes the planes of one block's chunk (columns col .. col + 63 of the 16 rows' codes {@code u}, in lane
     * order: {@code u[j]} is row {@link #row(int) row(j)}) at {@code off}: {@code 8·bits} bytes per column group.
     */
    static void writeChunk(int[][] u, int col, int bits, MemorySegment dst, long off, byte[] vec) {
        for (int a = 0; a < 16; a++) {
            for (int pair = 0; pair < bits / 2; pair++) {
                for (int j = 0; j < ROWS; j++) {
                    vec[j] = (byte) (nibble(u[j], col + 4 * a, 2 * pair) | nibble(u[j], col + 4 * a, 2 * pair + 1) << 4);
                }
                MemorySegment.copy(vec, 0, dst, ValueLayout.JAVA_BYTE, off + (long) a * 8 * bits + 16L * pair, 16);
            }
        }
    }

    /** Bit {@code plane} of the codes of columns {@code col .. col+3}, column {@code col + i} in bit i. */
    private static int nibble(int[] u, int col, int plane) {
        return (u[col] >> plane & 1) | (u[col + 1] >> plane & 1) << 1 | (u[col + 2] >> plane & 1) << 2 | (u[col + 3] >> plane & 1) << 3;
    }

    /** Unsigned code of (r, col), read back from the planes (for tests of the layout). */
    int code(int r, int col) {
        int rb = r / ROWS, within = r % ROWS;
        int j = within < ROWS / 2 ? 2 * within : 2 * (within - ROWS / 2) + 1;
        int c = col / CHUNK, a = (col % CHUNK) / 4, i = col % 4, u = 0;
        for (int k = 0; k < bits; k++) {
            int b = codes.get(ValueLayout.JAVA_BYTE, codeOffset(rb, c, a, k / 2) + j) >> (4 * (k % 2));
            u |= ((b >> i) & 1) << k;
        }
        return u;
    }
}

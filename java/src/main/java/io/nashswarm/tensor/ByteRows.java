package io.nashswarm.tensor;

import io.nashswarm.kernel.HugePages;

import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

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
 * AVX2), or of {@link #QUAD_ROWS} for the 4-bit codes; the last block is padded with zero codes and scales.
 * <ul>
 *   <li>groups ({@link #ofGroups}): per block and column, {@link #ROWS} signed bytes, byte lane {@code j} holding row
 *       {@link #row(int) row(j)}: even lanes the block's first half of rows, odd lanes its second half, so that the
 *       kernels' 16-bit sums, split into the low and high halves of 32-bit lanes by shifts, give the two halves of the
 *       rows in order; after each run of {@link #run} columns (a group, or two groups of 32: {@link #groupRun}) its
 *       groups' fp16 scales in row order and, for asymmetric codes, their zeros as signed bytes ({@link #runBytes}): a
 *       weight is {@code s·(code − zero)};</li>
 *   <li>super-blocks ({@link #ofSuperBlocks}, ggml's Q6_K): six bits per code as in the file, {@code u = code + 32}
 *       in 0..63, in blocks of {@link #QUAD_ROWS} rows, per row and sub-block of 16 columns three 32-bit words of two
 *       16-bit fields each, so that a field holds two whole codes and the low nibble of a third, or two whole codes and
 *       the high bits of two more ({@link #SIX_SUB_BYTES}); with the rows' float scales per 256 and int8 sub-scales
 *       per 16 in one stream ({@link #SIX_SUPER_BYTES}): a weight is {@code d·sub·(u − 32)}; Q5_K's 5-bit, Q3_K's 3-bit
 *       and Q2_K's 2-bit codes in fields of three, five and eight ({@link #FIVE_SUPER_BYTES}, {@link #THREE_SUPER_BYTES},
 *       {@link #TWO_SUPER_BYTES});</li>
 *   <li>nibbles ({@link #ofNibbles}, ggml's Q4_K) and nibble groups ({@link #ofNibbleGroups}, ggml's Q4_0 and the int4
 *       files): codes 0..15, per four columns two bytes per row, so that a row's 32-bit lane takes one broadcast pair of
 *       inputs per nibble; Q4_K's sub-block scales and minimums (0..63) and super-block float {@code d} and {@code dmin}
 *       ({@code w = d·sub·code − dmin·min}), or the groups' fp16 scales and zeros ({@code w = s·(code − z)}, Q4_0's
 *       {@code z} fixed at 8), interleaved with the codes in one stream ({@link #SUB_BYTES}, {@link
 *       #nibbleGroupBytes}).</li>
 * </ul>
 * Every layout is one stream per block of rows, because a decode step reads the copies from DRAM: Q4_K with its
 * parameters in four streams apart from the codes ran 5–8% slower there (bench/results/byte-rows-stream-2026-12-03.md).
 */
final class ByteRows {
    static final int ROWS = ShortVector.SPECIES_PREFERRED.length();
    /** Rows per block of the 4-bit layouts: one 32-bit lane (two 16-bit lanes) per row. */
    static final int QUAD_ROWS = ROWS / 2;
    static final int SUB = 16, SUPER = 256;

    final int rows, cols, blocks, group, groups;
    /**
     * {@link Kind#GROUPS}: the columns whose codes come before their groups' scales (and zeros), {@link #groupRun}: 64
     * for groups of 32, else the group.
     */
    final int run;
    /** Rows per block: {@link #QUAD_ROWS} for the 4-bit layouts, else {@link #ROWS}. */
    final int blockRows;
    /** The copy: codes and their parameters, one stream per block of rows ({@link #blockBytes} each). */
    final MemorySegment data;
    /** Bytes per block of rows. */
    final long blockBytes;
    /** Groups ({@link #ofGroups}, {@link #ofNibbleGroups}): whether the codes have zeros. */
    final boolean withZeros;

    /** The layouts, one per kernel of {@link ByteRowKernels}. */
    enum Kind {
        /** Signed byte codes in groups of 32k with fp16 scales (and zeros): int8, Q8_0 ({@link #ofGroups}). */
        GROUPS,
        /** Q6_K's 6-bit codes in super-blocks of {@link #SIX_SUPER_BYTES} ({@link #ofSuperBlocks}). */
        SIX_BIT_SUPER_BLOCKS,
        /** Q5_K's 5-bit codes in 16-bit fields of three, with Q4_K's scales and minimums ({@link #FIVE_SUPER_BYTES}, {@link #ofFiveBits}). */
        FIVE_BIT_SUPER_BLOCKS,
        /** Q3_K's 3-bit codes in 16-bit fields of five codes, with int8 sub-scales ({@link #THREE_SUPER_BYTES}, {@link #ofSuperBlocks}). */
        THREE_BIT_SUPER_BLOCKS,
        /** Q2_K's 2-bit codes in 16-bit fields of eight, with its scale-and-minimum bytes ({@link #TWO_SUPER_BYTES}, {@link #ofTwoBits}). */
        TWO_BIT_SUPER_BLOCKS,
        /** Q4_K's nibbles in super-blocks of {@link #SUPER_BYTES} ({@link #ofNibbles}). */
        NIBBLE_SUPER_BLOCKS,
        /** Nibbles in groups of 32 with the zero 8 (Q4_0), or of 64k with zeros or the zero 8 (int4) ({@link #ofNibbleGroups}). */
        NIBBLE_GROUPS
    }

    final Kind kind;
    /** Nibbles (Q4_K, Q4_0, int4): unsigned codes 0..15, two to a byte, in blocks of {@link #QUAD_ROWS} rows. */
    final boolean nibbles;

    /** A matrix in groups, row by row. */
    interface GroupRows {
        /** Writes row r's signed codes ({@code cols}), its fp16 scale bits and, for asymmetric codes, its signed zeros (one per group). */
        void row(int r, byte[] codes, short[] scales, byte[] zeros);
    }

    /** A matrix in super-blocks of 256 with sub-blocks of 16 (Q6_K), row by row. */
    interface SuperBlockRows {
        /**
         * Writes row r's codes ({@code cols}: Q6_K's as stored, {@code u = code + 32} in 0..63; Q3_K's signed, −4..3), its
         * int8 sub-scales and its super-block scales.
         */
        void row(int r, byte[] codes, byte[] subScales, float[] scales);
    }

    private ByteRows(int rows, int cols, int group, boolean withZeros, Kind kind) {
        this.rows = rows;
        this.cols = cols;
        this.group = group;
        this.groups = cols / group;
        this.kind = kind;
        this.run = kind == Kind.GROUPS ? groupRun(cols, group) : group;
        this.nibbles = kind == Kind.NIBBLE_SUPER_BLOCKS || kind == Kind.NIBBLE_GROUPS;
        this.blockRows = kind == Kind.GROUPS ? ROWS : QUAD_ROWS;
        this.blocks = (rows + blockRows - 1) / blockRows;
        this.withZeros = withZeros;
        this.blockBytes = (long) groups * switch (kind) {
            case GROUPS -> groupBytes(group, withZeros);
            case SIX_BIT_SUPER_BLOCKS -> SIX_SUPER_BYTES;
            case FIVE_BIT_SUPER_BLOCKS -> FIVE_SUPER_BYTES;
            case THREE_BIT_SUPER_BLOCKS -> THREE_SUPER_BYTES;
            case TWO_BIT_SUPER_BLOCKS -> TWO_SUPER_BYTES;
            case NIBBLE_SUPER_BLOCKS -> SUPER_BYTES;
            case NIBBLE_GROUPS -> nibbleGroupBytes(group, withZeros);
        };
        this.data = HugePages.allocate(blocks * blockBytes);
        BitPlanes.track(this, bytes());
    }

    /**
     * The 4-bit layouts keep everything in {@link #data}, read front to back as one stream, which the hardware prefetcher
     * follows (five streams, codes apart from scales, ran Q4_K 5–8% slower from DRAM and its decode 1.1–1.2x slower).
     * Per row block, a sub-block of 32 columns is {@link #SUB_BYTES}: its eight steps of four columns ({@code 2·QUAD_ROWS}
     * bytes each: row i's columns 4s, 4s + 1 in byte 2i, 4s + 2, 4s + 3 in byte 2i + 1, low nibble first), then
     * Q4_0's fp16 scales of the rows, or Q4_K's scales then minimums (a byte per row each). Q4_0 is a run of groups;
     * Q4_K a run of super-blocks of 256 ({@link #SUPER_BYTES}): the rows' float {@code d}, their float {@code dmin}, then
     * eight sub-blocks.
     */
    static final int SUB_BYTES = 18 * QUAD_ROWS, SUPER_BYTES = 8 * QUAD_ROWS + 8 * SUB_BYTES;

    /**
     * Q6_K's one stream ({@link #ofSuperBlocks}), per row block ({@link #QUAD_ROWS} rows in order) and super-block of 256
     * columns: the rows' float scales, the sixteen sub-blocks' int8 sub-scales (a byte per row each), then per sub-block
     * of 16 columns three vectors of one 32-bit word per row, each word two 16-bit fields (low, high). With {@code u_k}
     * the codes of columns k = 0..15 of the sub-block, {@code n_k} their low nibbles and {@code h_k} their two high bits,
     * the fields hold (lowest bits first): word 0 {@code u0 u1 n6 | u2 u3 n7}, word 1 {@code u8 u9 n14 | u10 u11 n15},
     * word 2 {@code u4 u5 h6 h14 | u12 u13 h7 h15} ({@link #sixFields}). Whole 16-bit loads then need no widening, and
     * each field is a sum of codes times powers of two, which the kernel multiplies out by shifts (see
     * {@link ByteRowKernels}' superBlocks). Everything a vector load reads is aligned to its width.
     */
    static final int SIX_SUB_BYTES = 12 * QUAD_ROWS, SIX_SUPER_BYTES = 4 * QUAD_ROWS + 16 * QUAD_ROWS + 16 * SIX_SUB_BYTES;

    /**
     * Q5_K's one stream ({@link #ofFiveBits}), per row block ({@link #QUAD_ROWS} rows in order) and super-block of 256
     * columns: the rows' float {@code d}, their float {@code dmin}, the eight sub-blocks' scales (a byte per row each),
     * their minimums likewise, then per sub-block of 32 columns five vectors of one 32-bit word per row ({@link
     * #FIVE_STEP_BYTES}): the word's low field holds codes of the first 16 columns, its high field of the second 16, three
     * codes 0..31 at bits 0, 5, 10 and one bit of the sixteenth at bit 15 ({@link #fiveFields}): {@code w = d·scale·u −
     * dmin·min}. 5.75 bits/weight resident against the file's 5.5 (in Q6_K's fields, before, 6.75).
     */
    static final int FIVE_STEP_BYTES = 20 * QUAD_ROWS, FIVE_SUPER_BYTES = 8 * QUAD_ROWS + 16 * QUAD_ROWS + 8 * FIVE_STEP_BYTES;

    /** Offset in {@link #data} of Q5_K's sub-block of 32 columns holding column c of row block rb ({@link Kind#FIVE_BIT_SUPER_BLOCKS}). */
    long fiveAt(int rb, int c) {
        return superAt(rb, c / SUPER) + 24 * QUAD_ROWS + (long) (c % SUPER / 32) * FIVE_STEP_BYTES;
    }

    /**
     * The five 16-bit fields of 16 codes {@code u[at .. at + 16)} in 0..31 (low fields of words 0..4 for a sub-block's
     * first 16 columns, high fields for its second): codes 3k, 3k + 1, 3k + 2 at bits 0, 5, 10 of field k, and bit k of
     * code 15 at bit 15.
     */
    static void fiveFields(byte[] u, int at, short[] f) {
        for (int k = 0; k < 5; k++) {
            f[k] = (short) (u[at + 3 * k] | u[at + 3 * k + 1] << 5 | u[at + 3 * k + 2] << 10 | (u[at + 15] >> k & 1) << 15);
        }
    }

    /** The inverse of {@link #fiveFields}: code {@code k} (0..15) of 16 from their five fields. */
    static int fiveCode(short[] f, int k) {
        if (k == 15) {
            int v = 0;
            for (int j = 0; j < 5; j++) {
                v |= (f[j] >> 15 & 1) << j;
            }
            return v;
        }
        return f[k / 3] >> 5 * (k % 3) & 31;
    }

    /**
     * Q3_K's one stream ({@link #ofSuperBlocks}), per row block ({@link #QUAD_ROWS} rows in order) and super-block of 256
     * columns: the rows' float scales, the sixteen sub-blocks' int8 sub-scales (a byte per row each), then per step of 32
     * columns three vectors of one 32-bit word per row ({@link #THREE_STEP_BYTES}): the word's low field holds the first
     * sub-block of 16, its high field the second, five codes {@code u = code + 4} (0..7) at bits 0, 3, 6, 9, 12 and one
     * bit of the sixteenth at bit 15 ({@link #threeFields}), so that a row's two sub-blocks sum in the two halves of its
     * 32-bit lane without widening (16·4·255 < 2^15). 3.625 bits/weight resident against the file's 3.44.
     */
    static final int THREE_STEP_BYTES = 12 * QUAD_ROWS, THREE_SUPER_BYTES = 4 * QUAD_ROWS + 16 * QUAD_ROWS + 8 * THREE_STEP_BYTES;

    /** Offset in {@link #data} of Q3_K's step of 32 columns holding column c of row block rb ({@link Kind#THREE_BIT_SUPER_BLOCKS}). */
    long threeAt(int rb, int c) {
        return superAt(rb, c / SUPER) + 20 * QUAD_ROWS + (long) (c % SUPER / 32) * THREE_STEP_BYTES;
    }

    /**
     * The three 16-bit fields of one row's sub-block of 16 codes {@code u[at .. at + 16)} in 0..7 (low fields of words 0, 1,
     * 2 for a step's first sub-block, high fields for its second): codes 0–4, 5–9 and 10–14 at bits 0, 3, 6, 9, 12, and
     * bit k of code 15 at bit 15 of field k.
     */
    static void threeFields(byte[] u, int at, short[] f) {
        for (int k = 0; k < 3; k++) {
            int v = (u[at + 15] >> k & 1) << 15;
            for (int j = 0; j < 5; j++) {
                v |= u[at + 5 * k + j] << 3 * j;
            }
            f[k] = (short) v;
        }
    }

    /** The inverse of {@link #threeFields}: code {@code k} (0..15) of a sub-block from its three fields. */
    static int threeCode(short[] f, int k) {
        if (k == 15) {
            return (f[0] >> 15 & 1) | (f[1] >> 15 & 1) << 1 | (f[2] >> 15 & 1) << 2;
        }
        return f[k / 5] >> 3 * (k % 5) & 7;
    }

    /**
     * Q2_K's one stream ({@link #ofTwoBits}), per row block ({@link #QUAD_ROWS} rows in order) and super-block of 256
     * columns: the rows' float {@code d}, their float {@code dmin}, the sixteen sub-blocks' bytes of 4-bit scale (low) and
     * minimum (high) as in the file (a byte per row each), then per step of 32 columns two vectors of one 32-bit word per
     * row ({@link #TWO_STEP_BYTES}): word k's low field holds codes 8k .. 8k + 7 (0..3, at bits 0, 2, .., 14) of the step's
     * first sub-block of 16, its high field those of the second ({@link #twoFields}): {@code w = d·scale·u − dmin·min}.
     * 2.75 bits/weight resident against the file's 2.625.
     */
    static final int TWO_STEP_BYTES = 8 * QUAD_ROWS, TWO_SUPER_BYTES = 8 * QUAD_ROWS + 16 * QUAD_ROWS + 8 * TWO_STEP_BYTES;

    /** Offset in {@link #data} of Q2_K's step of 32 columns holding column c of row block rb ({@link Kind#TWO_BIT_SUPER_BLOCKS}). */
    long twoAt(int rb, int c) {
        return superAt(rb, c / SUPER) + 24 * QUAD_ROWS + (long) (c % SUPER / 32) * TWO_STEP_BYTES;
    }

    /** The two 16-bit fields of one row's sub-block of 16 codes {@code u[at .. at + 16)} in 0..3: codes 8k .. 8k + 7 in field k. */
    static void twoFields(byte[] u, int at, short[] f) {
        for (int k = 0; k < 2; k++) {
            int v = 0;
            for (int j = 0; j < 8; j++) {
                v |= u[at + 8 * k + j] << 2 * j;
            }
            f[k] = (short) v;
        }
    }

    /** Offset in {@link #data} of Q6_K's sub-block of 16 columns holding column c of row block rb ({@link Kind#SIX_BIT_SUPER_BLOCKS}). */
    long sixAt(int rb, int c) {
        return superAt(rb, c / SUPER) + 20 * QUAD_ROWS + (long) (c % SUPER / SUB) * SIX_SUB_BYTES;
    }

    /**
     * The six 16-bit fields ({@link #SIX_SUB_BYTES}: words 0, 1, 2, low field first) of one row's sub-block of codes
     * {@code u[at .. at + 16)} in 0..63.
     */
    static void sixFields(byte[] u, int at, short[] f) {
        f[0] = (short) (u[at] | u[at + 1] << 6 | (u[at + 6] & 15) << 12);
        f[1] = (short) (u[at + 2] | u[at + 3] << 6 | (u[at + 7] & 15) << 12);
        f[2] = (short) (u[at + 8] | u[at + 9] << 6 | (u[at + 14] & 15) << 12);
        f[3] = (short) (u[at + 10] | u[at + 11] << 6 | (u[at + 15] & 15) << 12);
        f[4] = (short) (u[at + 4] | u[at + 5] << 6 | (u[at + 6] >> 4) << 12 | (u[at + 14] >> 4) << 14);
        f[5] = (short) (u[at + 12] | u[at + 13] << 6 | (u[at + 7] >> 4) << 12 | (u[at + 15] >> 4) << 14);
    }

    /** The inverse of {@link #sixFields}: code {@code k} (0..15) of a sub-block from its six fields. */
    static int sixCode(short[] f, int k) {
        return switch (k) {
            case 0, 1 -> f[0] >> 6 * k & 63;
            case 2, 3 -> f[1] >> 6 * (k - 2) & 63;
            case 8, 9 -> f[2] >> 6 * (k - 8) & 63;
            case 10, 11 -> f[3] >> 6 * (k - 10) & 63;
            case 4, 5 -> f[4] >> 6 * (k - 4) & 63;
            case 12, 13 -> f[5] >> 6 * (k - 12) & 63;
            case 6 -> f[0] >> 12 & 15 | (f[4] >> 12 & 3) << 4;
            case 7 -> f[1] >> 12 & 15 | (f[5] >> 12 & 3) << 4;
            case 14 -> f[2] >> 12 & 15 | (f[4] >> 14 & 3) << 4;
            case 15 -> f[3] >> 12 & 15 | (f[5] >> 14 & 3) << 4;
            default -> throw new IllegalArgumentException("a sub-block has 16 codes: " + k);
        };
    }

    /**
     * Bytes per row block and group of {@code group} columns ({@link #ofGroups}): the group's columns ({@code ROWS}
     * bytes each), then the rows' fp16 scales and, with zeros, their zeros.
     */
    static long groupBytes(int group, boolean withZeros) {
        return (long) (group + 2 + (withZeros ? 1 : 0)) * ROWS;
    }

    /**
     * Columns per run of {@link #ofGroups}: groups of 32 go in pairs (64 columns of codes, then both groups' scales and
     * zeros) where the columns allow. With a scale line after every 1024 bytes of codes, int8 and Q8_0 streamed from
     * DRAM at 33-42 GB/s on two threads against 60 for groups of 64 in the same runs, the same kernel and the same speed
     * in cache (bench/results/q8-runs-2026-12-05.md).
     */
    static int groupRun(int cols, int group) {
        return group == 32 && cols % 64 == 0 ? 64 : group;
    }

    /** Bytes per row block and run of {@link #groupRun} columns: the run's columns, then its groups' scales, then their zeros. */
    static long runBytes(int run, int group, boolean withZeros) {
        return run / group * groupBytes(group, withZeros);
    }

    /** The rows a product computes together, as a thread's share of rows must be cut ({@link WeightMatrix#rowBlock}). */
    int rowBlock() {
        return Math.max(io.nashswarm.kernel.Parallel.ROW_ALIGN, blockRows);
    }

    /** Offset in {@link #data} of column c of row block rb ({@link #ofGroups}). */
    private long columnAt(int rb, int c) {
        return rb * blockBytes + (long) (c / run) * runBytes(run, group, withZeros) + (long) (c % run) * ROWS;
    }

    /** Offset in row block 0 of group gi's fp16 scales ({@link #ofGroups}); its zeros follow the run's scales. */
    private long scaleAt(int gi) {
        int k = run / group;
        return (long) (gi / k) * runBytes(run, group, withZeros) + (long) run * ROWS + (long) (gi % k) * 2 * ROWS;
    }

    private long zeroAt(int gi) {
        int k = run / group;
        return (long) (gi / k) * runBytes(run, group, withZeros) + (long) run * ROWS + (long) k * 2 * ROWS + (long) (gi % k) * ROWS;
    }

    /**
     * Bytes per row block and group of {@code group} columns of nibble groups ({@link #ofNibbleGroups}): the group's
     * sub-blocks of 32 columns ({@code 16·QUAD_ROWS} bytes each), then the rows' fp16 scales and, with zeros, their
     * zeros (a byte each).
     */
    static long nibbleGroupBytes(int group, boolean withZeros) {
        return (long) (group / 2 + 2 + (withZeros ? 1 : 0)) * QUAD_ROWS;
    }

    /** Offset in {@link #data} of the sub-block holding column c of row block rb ({@link #nibbles}). */
    long subBlockAt(int rb, int c) {
        if (kind == Kind.NIBBLE_GROUPS) {
            return rb * blockBytes + (long) (c / group) * nibbleGroupBytes(group, withZeros) + (long) (c % group / 32) * 16 * QUAD_ROWS;
        }
        return rb * blockBytes + (long) (c / SUPER) * SUPER_BYTES + 8 * QUAD_ROWS + (long) (c % SUPER / 32) * SUB_BYTES;
    }

    /**
     * Repacks codes in groups of {@code group} columns (a multiple of 32 that divides {@code cols}) with an fp16 scale
     * each and, {@code withZeros}, a signed zero.
     */
    static ByteRows ofGroups(int rows, int cols, int group, boolean withZeros, GroupRows src) {
        if (group % 32 != 0 || cols % group != 0) {
            throw new IllegalArgumentException("byte rows need groups of 32k columns that divide the rows: " + group + ", " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, group, withZeros, Kind.GROUPS);
        short[] s = new short[p.groups];
        byte[] z = new byte[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, s, z);
            } else {
                java.util.Arrays.fill(s, (short) 0);
                java.util.Arrays.fill(z, (byte) 0);
            }
        }, (blk, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                SHORTS.set(blk, (int) (p.scaleAt(gi) + 2 * i), s[gi]);
                if (withZeros) {
                    blk[(int) (p.zeroAt(gi) + i)] = z[gi];
                }
            }
        });
        return p;
    }

    /**
     * Repacks codes in super-blocks of 256 columns with float scales and sub-blocks of 16 with int8 sub-scales: ggml's Q6_K
     * ({@link Kind#SIX_BIT_SUPER_BLOCKS}, codes as stored, 0..63) or Q3_K ({@link Kind#THREE_BIT_SUPER_BLOCKS}, codes −4..3), whose
     * streams start each super-block alike: the rows' float scales, then the sixteen sub-scales.
     */
    static ByteRows ofSuperBlocks(int rows, int cols, Kind kind, SuperBlockRows src) {
        if (cols % SUPER != 0 || kind != Kind.SIX_BIT_SUPER_BLOCKS && kind != Kind.THREE_BIT_SUPER_BLOCKS) {
            throw new IllegalArgumentException(kind + " rows need whole super-blocks of " + SUPER + ": " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, SUPER, false, kind);
        byte[] sub = new byte[cols / SUB];
        float[] d = new float[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, sub, d);
            } else {
                java.util.Arrays.fill(sub, (byte) 0);
                java.util.Arrays.fill(d, 0f);
            }
        }, (blk, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                FLOATS.set(blk, (int) (p.superAt(0, gi) + 4 * i), d[gi]);
            }
            for (int k = 0; k < sub.length; k++) {
                blk[(int) (p.superAt(0, k / 16) + (4 + k % 16) * QUAD_ROWS + i)] = sub[k];
            }
        });
        return p;
    }

    /** Offset in {@link #data} of super-block gi of row block rb (the super-block kinds). */
    private long superAt(int rb, int gi) {
        return rb * blockBytes + gi * (blockBytes / groups);
    }

    /**
     * Repacks 5-bit codes (0..31) in super-blocks of 256 columns with sub-blocks of 32 that have a scale and a minimum
     * (ggml's Q5_K) into 16-bit fields of three ({@link #FIVE_SUPER_BYTES}).
     */
    static ByteRows ofFiveBits(int rows, int cols, NibbleRows src) {
        return withMinimums(rows, cols, Kind.FIVE_BIT_SUPER_BLOCKS, src);
    }

    /**
     * Repacks 2-bit codes (0..3) in super-blocks of 256 columns with a 4-bit scale and a 4-bit minimum per sub-block of 16
     * (ggml's Q2_K; {@code src} writes them per sub-block of 16, not 32) into 16-bit fields ({@link #TWO_SUPER_BYTES}).
     */
    static ByteRows ofTwoBits(int rows, int cols, NibbleRows src) {
        return withMinimums(rows, cols, Kind.TWO_BIT_SUPER_BLOCKS, src);
    }

    /** Repacks 4-bit codes in super-blocks of 256 columns with sub-blocks of 32 (ggml's Q4_K), two columns to a byte. */
    static ByteRows ofNibbles(int rows, int cols, NibbleRows src) {
        return withMinimums(rows, cols, Kind.NIBBLE_SUPER_BLOCKS, src);
    }

    /** A matrix in super-blocks of 256 with sub-blocks of 32 that have a scale and a minimum each (Q4_K, Q5_K), row by row. */
    interface NibbleRows {
        /**
         * Writes row r's codes ({@code cols}, each in 0..15, or 0..31 for {@link #ofFiveBits}, 0..3 for {@link #ofTwoBits}), its
         * sub-block scales and minimums (0..63; per 16 columns and 0..15 for {@link #ofTwoBits}) and its
         * super-blocks' scales and minimum scales: a weight is {@code d·sub·code − dmin·min}.
         */
        void row(int r, byte[] codes, byte[] subScales, byte[] subMins, float[] scales, float[] minScales);
    }

    /**
     * The super-block layouts with sub-block scales and minimums (Q4_K, Q5_K, Q2_K): each super-block starts with the rows'
     * float {@code d} and {@code dmin}; the sub-blocks' scales and minimums go where the kind keeps them ({@link
     * #SUPER_BYTES}, {@link #FIVE_SUPER_BYTES}, {@link #TWO_SUPER_BYTES}).
     */
    private static ByteRows withMinimums(int rows, int cols, Kind kind, NibbleRows src) {
        if (cols % SUPER != 0) {
            throw new IllegalArgumentException(kind + " rows need whole super-blocks of " + SUPER + ": " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, SUPER, false, kind);
        int per = kind == Kind.TWO_BIT_SUPER_BLOCKS ? SUB : 32; // columns per sub-block
        byte[] sub = new byte[cols / per], mins = new byte[cols / per];
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
        }, (blk, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                long at = p.superAt(0, gi) + 4 * i;
                FLOATS.set(blk, (int) at, d[gi]);
                FLOATS.set(blk, (int) (at + 4 * QUAD_ROWS), dmin[gi]);
            }
            for (int k = 0; k < sub.length; k++) {
                switch (kind) {
                    case NIBBLE_SUPER_BLOCKS -> { // in each sub-block's stream, after its codes
                        long at = p.subBlockAt(0, 32 * k) + 16 * QUAD_ROWS + i;
                        blk[(int) at] = sub[k];
                        blk[(int) (at + QUAD_ROWS)] = mins[k];
                    }
                    case FIVE_BIT_SUPER_BLOCKS -> { // the super-block's eight scales, then its eight minimums
                        long at = p.superAt(0, k / 8) + (8 + k % 8) * QUAD_ROWS + i;
                        blk[(int) at] = sub[k];
                        blk[(int) (at + 8 * QUAD_ROWS)] = mins[k];
                    }
                    default -> // Q2_K: its sixteen bytes of scale (low nibble) and minimum (high), as in the file
                            blk[(int) (p.superAt(0, k / 16) + (8 + k % 16) * QUAD_ROWS + i)] = (byte) (sub[k] & 15 | mins[k] << 4);
                }
            }
        });
        return p;
    }

    /**
     * Repacks 4-bit codes (0..15) in groups of {@code group} columns with an fp16 scale each and, {@code withZeros}, a
     * zero {@code z} each ({@code w = s·(q − z)}; {@code src} writes {@code z − 8}), else the fixed zero 8: ggml's Q4_0
     * (groups of 32, {@code w = d·(q − 8)}) or the int4 files (groups of 64k that divide {@code cols}), two columns to a
     * byte.
     */
    static ByteRows ofNibbleGroups(int rows, int cols, int group, boolean withZeros, GroupRows src) {
        if (group == 32 ? withZeros : group % 64 != 0 || cols % group != 0) { // the kernels: Q4_0's, or nibblePairs
            throw new IllegalArgumentException("nibble groups need groups of 32 without zeros or of 64k columns that divide the rows: "
                    + group + ", " + cols);
        }
        ByteRows p = new ByteRows(rows, cols, group, withZeros, Kind.NIBBLE_GROUPS);
        short[] s = new short[p.groups];
        byte[] z = new byte[p.groups];
        p.fill((r, u) -> {
            if (r < rows) {
                src.row(r, u, s, z);
            } else {
                java.util.Arrays.fill(s, (short) 0);
                java.util.Arrays.fill(z, (byte) 0);
            }
        }, (blk, i) -> {
            for (int gi = 0; gi < p.groups; gi++) {
                long at = p.subBlockAt(0, group * gi) + (long) group / 2 * QUAD_ROWS;
                SHORTS.set(blk, (int) (at + 2 * i), s[gi]);
                if (withZeros) {
                    blk[(int) (at + 2 * QUAD_ROWS + i)] = z[gi];
                }
            }
        });
        return p;
    }

    private interface RowReader {
        /** Reads row r (r ≥ rows: padding) into u and the reader's own parameter arrays. */
        void read(int r, byte[] u);
    }

    private interface ParamWriter {
        /** Writes the parameters just read as row i into a block's bytes (offsets of row block 0). */
        void write(byte[] block, int i);
    }

    /**
     * Makes each row block in a heap array, then copies it whole: written in place, a matrix took one {@code
     * MemorySegment} copy or set per 32 bytes, most of a 1B model's first-token time (JFR).
     */
    private void fill(RowReader reader, ParamWriter params) {
        byte[][] u = new byte[blockRows][cols];
        // a heap array written through array views, not a heap MemorySegment: segment accesses that see both heap and
        // native segments lose C2's type profile (Q4_K_M's copies took 20% longer)
        byte[] stage = new byte[Math.toIntExact(blockBytes)];
        for (int rb = 0; rb < blocks; rb++) {
            java.util.Arrays.fill(stage, (byte) 0);
            for (int i = 0; i < blockRows; i++) {
                int r = rb * blockRows + i;
                if (r >= rows) {
                    java.util.Arrays.fill(u[i], (byte) 0);
                }
                reader.read(r, u[i]);
                params.write(stage, i);
            }
            if (nibbles) { // per four columns, row i's two bytes at 2i: columns 4s and 4s + 1, then 4s + 2 and 4s + 3
                for (int i = 0; i < blockRows; i++) { // each row's codes two to a byte, in place, eight at a time
                    byte[] ur = u[i];
                    for (int c = 0; c < cols; c += 8) {
                        long v = (long) LONGS.get(ur, c); // code k in byte k: pair k's byte u(2k) | u(2k + 1) << 4 in lane k of 16 bits
                        long pairs = v & 0x000F000F000F000FL | v >>> 4 & 0x00F000F000F000F0L;
                        INTS.set(ur, c >> 1, (int) Long.compress(pairs, 0x00FF00FF00FF00FFL));
                    }
                }
                for (int i0 = 0; i0 < blockRows; i0 += 4) { // 4 rows × 4 pairs at a time, transposed in longs (as the byte lanes below)
                    byte[] r0 = u[i0], r1 = u[i0 + 1], r2 = u[i0 + 2], r3 = u[i0 + 3];
                    for (int q = 0; q < cols / 4; q += 4) {
                        long x0 = (long) LONGS.get(r0, 2 * q), x1 = (long) LONGS.get(r1, 2 * q), x2 = (long) LONGS.get(r2, 2 * q), x3 = (long) LONGS.get(r3, 2 * q);
                        long t;
                        t = (x0 >>> 16 ^ x1) & B2; x1 ^= t; x0 ^= t << 16;
                        t = (x2 >>> 16 ^ x3) & B2; x3 ^= t; x2 ^= t << 16;
                        t = (x0 >>> 32 ^ x2) & B4; x2 ^= t; x0 ^= t << 32;
                        t = (x1 >>> 32 ^ x3) & B4; x3 ^= t; x1 ^= t << 32;
                        int at = (int) subBlockAt(0, 4 * q) + (q % 8) * ROWS + 2 * i0; // pairs q .. q + 3 are ROWS bytes apart
                        LONGS.set(stage, at, x0);
                        LONGS.set(stage, at + ROWS, x1);
                        LONGS.set(stage, at + 2 * ROWS, x2);
                        LONGS.set(stage, at + 3 * ROWS, x3);
                    }
                }
            } else if (kind == Kind.TWO_BIT_SUPER_BLOCKS || kind == Kind.THREE_BIT_SUPER_BLOCKS || kind == Kind.FIVE_BIT_SUPER_BLOCKS) {
                // per row and 16 columns their fields, the low halves of a step's words for its first 16, the high for its second
                int words = kind == Kind.TWO_BIT_SUPER_BLOCKS ? 2 : kind == Kind.THREE_BIT_SUPER_BLOCKS ? 3 : 5;
                short[] f = new short[words];
                for (int i = 0; i < QUAD_ROWS; i++) {
                    if (kind == Kind.THREE_BIT_SUPER_BLOCKS) { // stored as u = code + 4
                        for (int c = 0; c < cols; c++) {
                            u[i][c] += 4;
                        }
                    }
                    for (int c = 0; c < cols; c += SUB) {
                        long at = 4 * i + (c % 32 == 0 ? 0 : 2) + switch (kind) {
                            case TWO_BIT_SUPER_BLOCKS -> { twoFields(u[i], c, f); yield twoAt(0, c); }
                            case THREE_BIT_SUPER_BLOCKS -> { threeFields(u[i], c, f); yield threeAt(0, c); }
                            default -> { fiveFields(u[i], c, f); yield fiveAt(0, c); }
                        };
                        for (int w = 0; w < words; w++) {
                            SHORTS.set(stage, (int) (at + w * 4 * QUAD_ROWS), f[w]);
                        }
                    }
                }
            } else if (kind == Kind.SIX_BIT_SUPER_BLOCKS) { // Q6_K's stored codes u = code + 32: per row and sub-block of 16 its six fields
                short[] f = new short[6];
                for (int i = 0; i < QUAD_ROWS; i++) {
                    for (int c = 0; c < cols; c += SUB) {
                        sixFields(u[i], c, f);
                        long at = sixAt(0, c) + 4 * i;
                        for (int w = 0; w < 3; w++) {
                            SHORTS.set(stage, (int) (at + w * 4 * QUAD_ROWS), f[2 * w]);
                            SHORTS.set(stage, (int) (at + w * 4 * QUAD_ROWS + 2), f[2 * w + 1]);
                        }
                    }
                }
            } else { // byte lanes: 8 lanes × 8 columns at a time, transposed in longs (per byte, a 1B Q8_0's copies took 2-2.7 s)
                for (int j0 = 0; j0 < ROWS; j0 += 8) {
                    byte[] r0 = u[row(j0)], r1 = u[row(j0 + 1)], r2 = u[row(j0 + 2)], r3 = u[row(j0 + 3)];
                    byte[] r4 = u[row(j0 + 4)], r5 = u[row(j0 + 5)], r6 = u[row(j0 + 6)], r7 = u[row(j0 + 7)];
                    for (int c = 0; c < cols; c += 8) { // groups of 32k: eight columns never straddle a run
                        long x0 = (long) LONGS.get(r0, c), x1 = (long) LONGS.get(r1, c), x2 = (long) LONGS.get(r2, c), x3 = (long) LONGS.get(r3, c);
                        long x4 = (long) LONGS.get(r4, c), x5 = (long) LONGS.get(r5, c), x6 = (long) LONGS.get(r6, c), x7 = (long) LONGS.get(r7, c);
                        long t; // swap bytes across pairs of lanes 1, 2 and 4 apart: byte m of lane k ends as byte k of column m
                        t = (x0 >>> 8 ^ x1) & B1; x1 ^= t; x0 ^= t << 8;
                        t = (x2 >>> 8 ^ x3) & B1; x3 ^= t; x2 ^= t << 8;
                        t = (x4 >>> 8 ^ x5) & B1; x5 ^= t; x4 ^= t << 8;
                        t = (x6 >>> 8 ^ x7) & B1; x7 ^= t; x6 ^= t << 8;
                        t = (x0 >>> 16 ^ x2) & B2; x2 ^= t; x0 ^= t << 16;
                        t = (x1 >>> 16 ^ x3) & B2; x3 ^= t; x1 ^= t << 16;
                        t = (x4 >>> 16 ^ x6) & B2; x6 ^= t; x4 ^= t << 16;
                        t = (x5 >>> 16 ^ x7) & B2; x7 ^= t; x5 ^= t << 16;
                        t = (x0 >>> 32 ^ x4) & B4; x4 ^= t; x0 ^= t << 32;
                        t = (x1 >>> 32 ^ x5) & B4; x5 ^= t; x1 ^= t << 32;
                        t = (x2 >>> 32 ^ x6) & B4; x6 ^= t; x2 ^= t << 32;
                        t = (x3 >>> 32 ^ x7) & B4; x7 ^= t; x3 ^= t << 32;
                        int at = (int) columnAt(0, c) + j0; // columns c .. c + 7 are ROWS bytes apart
                        LONGS.set(stage, at, x0);
                        LONGS.set(stage, at + ROWS, x1);
                        LONGS.set(stage, at + 2 * ROWS, x2);
                        LONGS.set(stage, at + 3 * ROWS, x3);
                        LONGS.set(stage, at + 4 * ROWS, x4);
                        LONGS.set(stage, at + 5 * ROWS, x5);
                        LONGS.set(stage, at + 6 * ROWS, x6);
                        LONGS.set(stage, at + 7 * ROWS, x7);
                    }
                }
            }
            MemorySegment.copy(stage, 0, data, ValueLayout.JAVA_BYTE, rb * blockBytes, Math.toIntExact(blockBytes));
        }
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Masks of {@link #fill}'s transposes in longs: the bytes (B1), pairs of bytes (B2) or halves (B4) that stay in place. */
    private static final long B1 = 0x00FF00FF00FF00FFL, B2 = 0x0000FFFF0000FFFFL, B4 = 0x00000000FFFFFFFFL;
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORTS = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle FLOATS = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    /** Row of a block held by byte lane {@code j}. */
    static int row(int j) {
        return (j & 1) == 0 ? j >> 1 : ROWS / 2 + (j >> 1);
    }

    /**
     * Row r dequantized from this copy into {@code out[off ..+ cols)}, bit for bit as the stored matrix's own decoder gives
     * it: bytes {@code s·(q − z)} (Q8_0, int8; z = 0 without zeros), nibbles {@code s·(q − 8 − z)} (Q4_0, int4), Q6_K's
     * fields {@code (u − 32)·(d·sub)}, the integer difference exact and one rounding in the product, as theirs; false for
     * the other layouts. Why: a tied embedding read from the file mapping after its copy was made paged the file back in,
     * 64 KB around each looked-up row, so a model's resident bytes grew with every prompt on top of the copy.
     */
    boolean dequantizeRow(int r, float[] out, int off) {
        if (kind == Kind.GROUPS || kind == Kind.NIBBLE_GROUPS) {
            boolean bytes = kind == Kind.GROUPS;
            int rb = r / blockRows, i = r % blockRows;
            for (int gi = 0; gi < groups; gi++) {
                long s = bytes ? rb * blockBytes + scaleAt(gi) : subBlockAt(rb, group * gi) + (long) group / 2 * QUAD_ROWS; // its scales
                long z = bytes ? rb * blockBytes + zeroAt(gi) : s + 2L * QUAD_ROWS; // and zeros, one per row
                float d = Float.float16ToFloat(data.get(LE_SHORT, s + 2L * i));
                int zero = (bytes ? 0 : 8) + (withZeros ? data.get(ValueLayout.JAVA_BYTE, z + i) : 0);
                for (int c = gi * group; c < (gi + 1) * group; c++) {
                    out[off + c] = d * (code(r, c) - zero);
                }
            }
            return true;
        }
        if (kind != Kind.SIX_BIT_SUPER_BLOCKS) {
            return false;
        }
        int rb = r / QUAD_ROWS, i = r % QUAD_ROWS;
        short[] f = new short[6];
        for (int g = 0; g < groups; g++) {
            long sb = superAt(rb, g);
            float d = data.get(LE_FLOAT, sb + 4L * i);
            for (int s = 0; s < SUPER / SUB; s++) {
                int c = g * SUPER + s * SUB;
                float scale = d * data.get(ValueLayout.JAVA_BYTE, sb + (long) (4 + s) * QUAD_ROWS + i);
                sixFieldsOf(r, c, f);
                for (int k = 0; k < SUB; k++) {
                    out[off + c + k] = (sixCode(f, k) - 32) * scale;
                }
            }
        }
        return true;
    }

    /** Row r's six fields of Q6_K's sub-block of 16 columns holding column c, read back from the copy ({@link #sixFields}). */
    private void sixFieldsOf(int r, int c, short[] f) {
        long at = sixAt(r / QUAD_ROWS, c) + 4L * (r % QUAD_ROWS);
        for (int w = 0; w < 3; w++) {
            f[2 * w] = data.get(LE_SHORT, at + (long) w * 4 * QUAD_ROWS);
            f[2 * w + 1] = data.get(LE_SHORT, at + (long) w * 4 * QUAD_ROWS + 2);
        }
    }

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Off-heap bytes of this copy. */
    long bytes() {
        return data.byteSize();
    }

    /** The code of (r, c), read back from the copy (for tests of the layout): signed (Q6_K's in −32..31, Q3_K's in −4..3), 0..31 for Q5_K, 0..3 for Q2_K, or 0..15 for nibbles. */
    int code(int r, int c) {
        if (nibbles) {
            int i = r % QUAD_ROWS, b = ((c & 3) >> 1) + 2 * i, rb = r / QUAD_ROWS;
            long at = subBlockAt(rb, c) + (c / 4 % 8) * ROWS;
            return data.get(ValueLayout.JAVA_BYTE, at + b) >> (4 * (c & 1)) & 0x0F;
        }
        if (kind == Kind.TWO_BIT_SUPER_BLOCKS) {
            long at = twoAt(r / QUAD_ROWS, c) + 4 * (r % QUAD_ROWS) + (c % 32 < SUB ? 0 : 2);
            int k = c % SUB;
            return data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + (long) (k / 8) * 4 * QUAD_ROWS) >> 2 * (k % 8) & 3;
        }
        if (kind == Kind.THREE_BIT_SUPER_BLOCKS) {
            long at = threeAt(r / QUAD_ROWS, c) + 4 * (r % QUAD_ROWS) + (c % 32 < SUB ? 0 : 2);
            short[] f = new short[3];
            for (int w = 0; w < 3; w++) {
                f[w] = data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + (long) w * 4 * QUAD_ROWS);
            }
            return threeCode(f, c % SUB) - 4;
        }
        if (kind == Kind.FIVE_BIT_SUPER_BLOCKS) {
            long at = fiveAt(r / QUAD_ROWS, c) + 4 * (r % QUAD_ROWS) + (c % 32 < SUB ? 0 : 2);
            short[] f = new short[5];
            for (int w = 0; w < 5; w++) {
                f[w] = data.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + (long) w * 4 * QUAD_ROWS);
            }
            return fiveCode(f, c % SUB);
        }
        if (kind == Kind.SIX_BIT_SUPER_BLOCKS) {
            short[] f = new short[6];
            sixFieldsOf(r, c, f);
            return sixCode(f, c % SUB) - 32;
        }
        int i = r % ROWS, j = i < ROWS / 2 ? 2 * i : 2 * (i - ROWS / 2) + 1;
        return data.get(ValueLayout.JAVA_BYTE, columnAt(r / ROWS, c) + j);
    }
}

package io.nashswarm.tensor;

import io.nashswarm.kernel.HugePages;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.nashswarm.tensor.PackedKernels.F16;

/**
 * A mixed-width matrix ({@link MixedGroupMatrix}) repacked for the table-lookup kernels
 * ({@link LutKernels#products(MixedPlanes, LutInput[], int, float[], int, int, int, int)}): the width is a
 * property of a tile of {@value #ROWS} rows × one group, the unit the kernel reads. Made once per matrix
 * from its stored codes, in off-heap memory, the size of the codes and scales.
 *
 * <h2>Layout</h2>
 * Rows go in blocks of {@value #ROWS}, as in {@link BitPlanes} (same lane order, same per-chunk layout of
 * {@code 8·bits} bytes per column group, padded rows zero codes and zero scales), except that 8-bit chunks hold
 * byte codes for the 16-bit product kernel ({@link ByteRowKernels#tiles}): per pair of columns 32 bytes, row
 * {@code i}'s two codes minus 128 (signed) at bytes {@code 2i} and {@code 2i + 1}, rows in order. The columns go in
 * panels of {@value #PANEL_CHUNKS} chunks (64 columns each), panel after panel, and within a panel block after block;
 * within a panel's block the chunks are listed by width, 8-bit chunks first, then 4-bit, then 2-bit, each in column
 * order ({@link #chunkList}); panel {@code p}'s block {@code rb}'s chunks of width class {@code k} are entries
 * {@link #start}{@code (p, rb, k)} .. {@code start(p, rb, k + 1)} of the list, their codes at {@link #codeOffset},
 * and the scales (and zeros) of list entry {@code i} at {@code 32·i} ({@code 16·i}): one fp16 per row, so a
 * group of several chunks repeats its scale.
 *
 * <h2>Width of a tile</h2>
 * A tile runs at the widest width among its rows' groups: a narrower code {@code u} of width {@code b}
 * becomes {@code u + 2^(B−1) − 2^(b−1)} at width {@code B}, its zero likewise, which is the same weight.
 * The allocators choose widths per tile ({@link MixedGroupMatrix#TILE_ROWS}), so no code is widened and a
 * matrix costs in proportion to its average width; a map chosen per row still runs, at the widest row's cost.
 */
final class MixedPlanes {
    static final int ROWS = BitPlanes.ROWS, CHUNK = LutInput.CHUNK;
    /** Width of each class in stored order. */
    static final int[] BITS = {8, 4, 2};

    final int rows, cols, blocks, chunks;
    final MemorySegment codes, scales16, zeros8;
    /** Whether any tile is 8 bits wide (its products need a {@link SplitInput}). */
    final boolean byteTiles;
    /**
     * Chunks per column panel: a product runs panel after panel, so that it reads only the panel's part of the input's
     * tables (8 bytes per column: 16 KiB) while it streams the weights. At 8192 columns the whole tables (64 KiB) made a
     * mixed product from memory 1.5x slower than at 2048 (bench/results/table-footprint-2026-12-04.md).
     */
    static final int PANEL_CHUNKS = 32;

    /** Column panels of {@link #PANEL_CHUNKS} chunks (the last may be shorter). */
    final int panels;
    /** Per panel and block, its chunks by width class (see the class comment). */
    final int[] chunkList;
    /** (panels · blocks · 3 + 1) entries: where panel p's block rb's class k starts in {@link #chunkList}. */
    private final int[] starts;
    /** panels · blocks · 3 entries: byte offset of panel p's block rb's class-k codes. */
    private final long[] codeOffsets;

    private MixedPlanes(int rows, int cols, int[] chunkList, int[] starts, long[] codeOffsets, long codeBytes, boolean asymmetric) {
        this.rows = rows;
        this.cols = cols;
        this.blocks = (rows + ROWS - 1) / ROWS;
        this.chunks = cols / CHUNK;
        this.panels = (chunks + PANEL_CHUNKS - 1) / PANEL_CHUNKS;
        this.chunkList = chunkList;
        this.starts = starts;
        this.codeOffsets = codeOffsets;
        boolean any = false;
        for (int i = 0; i < panels * blocks; i++) {
            any |= starts[3 * i + 1] > starts[3 * i];
        }
        this.byteTiles = any;
        this.codes = HugePages.allocate(Math.max(1, codeBytes));
        this.scales16 = HugePages.allocate(32L * chunkList.length + 64);
        this.zeros8 = asymmetric ? HugePages.allocate(16L * chunkList.length + 64) : null;
        BitPlanes.track(this, codes.byteSize() + scales16.byteSize() + (zeros8 == null ? 0 : zeros8.byteSize()));
    }

    /** Where panel p's block rb's class k starts in {@link #chunkList} ({@code k = 3}: where the next class list starts). */
    int start(int p, int rb, int k) {
        return starts[3 * (p * blocks + rb) + k];
    }

    long codeOffset(int p, int rb, int k) {
        return codeOffsets[3 * (p * blocks + rb) + k];
    }

    /** One row's groups in logical order, as {@link MixedGroupMatrix#rowGroups} gives them. */
    record Row(int[] codes, int[] widths, short[] scales, int[] zeros) {
        Row(int cols, int groups) {
            this(new int[cols], new int[groups], new short[groups], new int[groups]);
        }
    }

    static MixedPlanes of(MixedGroupMatrix m, boolean asymmetric) {
        int rows = m.rows(), cols = m.cols(), g = m.spec().groupSize(), groups = cols / g, cpg = g / CHUNK, chunks = cols / CHUNK;
        int blocks = (rows + ROWS - 1) / ROWS;
        // Pass 1: each tile's width (the widest of its rows), the chunk lists and offsets.
        byte[] tileBits = new byte[blocks * groups];
        Row row = new Row(cols, groups);
        for (int r = 0; r < rows; r++) {
            m.rowWidths(r, row.widths());
            for (int gi = 0; gi < groups; gi++) {
                int t = (r / ROWS) * groups + gi;
                tileBits[t] = (byte) Math.max(tileBits[t], row.widths()[gi]);
            }
        }
        int panels = (chunks + PANEL_CHUNKS - 1) / PANEL_CHUNKS;
        int[] list = new int[blocks * chunks], starts = new int[3 * panels * blocks + 1];
        long[] codeOffsets = new long[3 * panels * blocks];
        long code = 0;
        int n = 0;
        for (int p = 0; p < panels; p++) { // panel-major, so that each panel's pass streams one run of memory
            for (int rb = 0; rb < blocks; rb++) {
                for (int k = 0; k < 3; k++) {
                    starts[3 * (p * blocks + rb) + k] = n;
                    codeOffsets[3 * (p * blocks + rb) + k] = code;
                    for (int c = p * PANEL_CHUNKS; c < Math.min(chunks, (p + 1) * PANEL_CHUNKS); c++) {
                        if (tileBits[rb * groups + c / cpg] == BITS[k]) {
                            list[n++] = c;
                            code += 128L * BITS[k];
                        }
                    }
                }
            }
        }
        starts[3 * panels * blocks] = n;
        MixedPlanes p = new MixedPlanes(rows, cols, list, starts, codeOffsets, code, asymmetric);
        // Pass 2: per block, the 16 rows' codes widened to their tiles' widths, then written chunk by chunk.
        int[][] u = new int[ROWS][cols];
        short[][] s = new short[ROWS][groups];
        int[][] z = new int[ROWS][groups];
        byte[] vec = new byte[16], pair = new byte[2 * ROWS];
        for (int rb = 0; rb < blocks; rb++) {
            for (int i = 0; i < ROWS; i++) {
                int r = rb * ROWS + i, j = lane(i);
                if (r >= rows) {
                    java.util.Arrays.fill(u[j], 0);
                    java.util.Arrays.fill(s[i], (short) 0);
                    java.util.Arrays.fill(z[i], 0);
                    continue;
                }
                m.rowGroups(r, row);
                for (int gi = 0; gi < groups; gi++) {
                    int w = row.widths()[gi], lift = (1 << (tileBits[rb * groups + gi] - 1)) - (1 << (w - 1));
                    for (int c = gi * g; c < (gi + 1) * g; c++) {
                        u[j][c] = row.codes()[c] + lift;
                    }
                    s[i][gi] = row.scales()[gi];
                    z[i][gi] = row.zeros()[gi] + lift;
                }
            }
            for (int pl = 0; pl < p.panels; pl++) {
                for (int k = 0; k < 3; k++) {
                    long at = p.codeOffset(pl, rb, k);
                    for (int e = p.start(pl, rb, k); e < p.start(pl, rb, k + 1); e++) {
                        int c = list[e], gi = c / cpg;
                        if (BITS[k] == 8) {
                            writePairs(u, c * CHUNK, p.codes, at, pair);
                        } else {
                            BitPlanes.writeChunk(u, c * CHUNK, BITS[k], p.codes, at, vec);
                        }
                        at += 128L * BITS[k];
                        for (int i = 0; i < ROWS; i++) {
                            p.scales16.set(F16, 32L * e + 2L * i, s[i][gi]);
                            if (p.zeros8 != null) {
                                p.zeros8.set(ValueLayout.JAVA_BYTE, 16L * e + i, (byte) z[i][gi]);
                            }
                        }
                    }
                }
            }
        }
        return p;
    }

    /** An 8-bit chunk from column {@code col}: per pair of columns, row i's codes minus 128 at bytes 2i and 2i + 1 (u by lane). */
    private static void writePairs(int[][] u, int col, MemorySegment dst, long off, byte[] pair) {
        for (int q = 0; q < CHUNK / 2; q++) {
            for (int i = 0; i < ROWS; i++) {
                int[] row = u[lane(i)];
                pair[2 * i] = (byte) (row[col + 2 * q] - 128);
                pair[2 * i + 1] = (byte) (row[col + 2 * q + 1] - 128);
            }
            MemorySegment.copy(pair, 0, dst, ValueLayout.JAVA_BYTE, off + 2L * ROWS * q, 2 * ROWS);
        }
    }

    /** Byte lane of a block's row i (the inverse of {@link BitPlanes#row}). */
    static int lane(int i) {
        return i < ROWS / 2 ? 2 * i : 2 * (i - ROWS / 2) + 1;
    }

    /** Off-heap bytes of this copy. */
    long bytes() {
        return codes.byteSize() + scales16.byteSize() + (zeros8 == null ? 0 : zeros8.byteSize());
    }
}

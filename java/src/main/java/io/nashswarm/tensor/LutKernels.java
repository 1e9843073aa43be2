package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static io.nashswarm.tensor.PackedKernels.LE;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_S2I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Table-lookup products of integer group codes (after T-MAC, EuroSys 2025): the work per weight follows
 * its bits, since a {@code b}-bit code costs {@code b} table lookups per row and 4 columns.
 *
 * <h2>The sum</h2>
 * With code bits {@code β_k} of {@code u} and signs {@code σ_k = 2β_k − 1},
 * {@code u − 2^(b−1) = ½·Σ_k 2^k·σ_k − ½}. So a chunk's dot product of codes with zero {@code z} is
 * {@code Σ (u − z)·x = ½·Σ_k 2^k·P_k + (2^(b−1) − ½ − z)·X}, where {@code X} is the chunk's input sum and
 * {@code P_k = Σ_groups T[plane k's nibble]} sums the signed 12-bit tables of {@link LutInput}.
 *
 * <h2>One lookup, 32 entries of 16 bits</h2>
 * A step loads 32 code bytes ({@link BitPlanes}: 16 rows side by side, two 16-byte slots) and widens them
 * to 32 16-bit lanes; one 16-bit multiply by 0x101 puts the byte in both halves of its lane, and a mask
 * leaves the nibble of one plane in each half, offset so that the low byte indexes a group's 16 low table
 * bytes and the high byte its 16 high bytes. One {@code selectFrom} on {@link ByteVector#SPECIES_512}
 * (vpermb with AVX-512 VBMI, plus a mask C2 adds to wrap the indices) then reads 32 rows' 16-bit entries;
 * they are added in 16-bit lanes (16 per chunk: at most {@code 16·2047}). Per chunk the planes are combined
 * in 32-bit lanes, converted to float, and scaled by the table step and the row scales; the zero term is
 * the chunk's input sum times {@code s·(2^(b−1) − ½ − z)}. Error bound: {@link LutInput}.
 *
 * <p>int4 reads 16 steps of 32 bytes per chunk of 16 rows, int2 8, int8 32, and the per-chunk work (fp16 scales to
 * float, plane combination, 4 FMAs) is shared, so int2 costs a little more than half of int4. Measured in
 * bench/results/lut-kernels-2-2026-12-02.md.
 *
 * <h2>The JIT</h2>
 * The vector work of one row block (16 rows, one input) is a method of its own that takes and returns no
 * vector: a kernel with its loops, epilogue and helpers passed C2's node-count cutoff (18000 nodes) while
 * parsing, after which ordinary helpers were no longer inlined and their vectors were boxed (measured
 * 10–50x slower). Within it no helper of our own is called; the Vector API's methods are force-inlined.
 * (Scales are widened from fp16 in vectors, per chunk: a scalar pass over each block's scales and zeros
 * took about as long as the lookups, int4 3.2 ms against 1.9 ms at 4096x11008.) Even/odd 16-bit
 * lanes are split with shifts, and the row order of {@link BitPlanes} makes even lanes rows 0..7 and odd
 * lanes rows 8..15.
 *
 * <h2>Batches</h2>
 * Every kernel takes {@code n} inputs: per row block, the block's codes are loaded from memory once and
 * then from cache for each input. Callers pass tiles of inputs whose tables fit in L2 ({@link #tile}).
 *
 * <h2>Which widths</h2>
 * int2 in groups of 64k takes byte tables on 64-row blocks ({@link #planeRows}). 2- and 4-bit codes (and 5-bit as 4 + 2
 * planes) take the 12-bit tables above: int2 and int4 in groups of 32, a mixed matrix's 4- and 2-bit tiles, and
 * ggml's types not listed next. 8-bit codes (int8, Q8_0, a mixed matrix's 8-bit tiles), Q6_K, Q4_K, Q4_0 and int4 in
 * groups of 64k take the 16-bit product kernels instead ({@link ByteRowKernels}): a multiply costs the same for every
 * width, and for int4 g64 it ran 1.37x faster in L2 than these lookups (bench/results/int4-nibbles-2026-12-03.md). int8 tables (one byte per entry, step {@code max/127}) moved aidreams260K's greedy int4 text
 * after 10–15 tokens and a tiny GPT-2's int8 logits by 7%; the 12-bit tables keep the int4 text for 110
 * tokens and move the perplexity by about 2e-5 for int4 and int8 (TableLookupPerplexityTest).
 */
final class LutKernels {
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_512, CODES = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Short> H = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> Z = ByteVector.SPECIES_128;
    private static final int ROWS = BitPlanes.ROWS, GROUP = LutInput.GROUP_BYTES;
    /**
     * Per 16-bit lane, what the index lanes add to {@code idx | idx << 8}: 16 to the high byte (the table's
     * high bytes), and for 2-bit codes, whose second slot is the next column group, 32 to both bytes of that
     * slot (the next group's table).
     */
    private static final short[] SAME_TABLE = offsets(0), NEXT_TABLE = offsets(0x2020);

    private LutKernels() {}

    /**
     * Whether these kernels run in vector registers here: they use 512-bit vectors (a 64-byte permute,
     * vpermb with AVX-512 VBMI). Elsewhere (AVX2) the Vector API would run them correctly but as scalar
     * Java, many times slower, so matrices use the float kernels there.
     */
    static final boolean NATIVE = ByteVector.SPECIES_PREFERRED.vectorBitSize() >= 512;

    private static short[] offsets(int slot1) {
        short[] o = new short[32];
        for (int i = 0; i < 32; i++) {
            o[i] = (short) (0x1000 + (i < 16 ? 0 : slot1));
        }
        return o;
    }

    /** Inputs per call whose 12-bit tables (8 bytes per column each) stay within about 256 KiB. */
    static int tile(int cols, int n) {
        return tile(cols, n, 8);
    }

    /** Inputs per call whose tables, {@code tableBytes} per column each, stay within about 256 KiB (L2). */
    private static int tile(int cols, int n, int tableBytes) {
        return Math.max(1, Math.min(n, (256 << 10) / (tableBytes * cols)));
    }

    /**
     * {@code y[b·w.rows + r] = row r · x[b·cols ..]} for rows r0..r1 and inputs b < n: the inputs' tables built in
     * tiles that fit in L2 ({@link #tile}), each tile's row blocks read from memory once.
     */
    static void products(BitPlanes w, float[] x, int n, float[] y, int r0, int r1) {
        int tile = tile(w.cols, n);
        LutInput[] in = new LutInput[tile];
        for (int b0 = 0; b0 < n; b0 += tile) {
            int m = Math.min(tile, n - b0);
            for (int b = 0; b < m; b++) {
                in[b] = input(x, (b0 + b) * w.cols, w.cols, n, false);
            }
            products(w, in, m, y, b0 * w.rows, w.rows, r0, r1);
        }
    }

    /** Input b's tables; at batch 1 (decode) into the arrays of the thread's last input of this kind and width ({@link ThreadInputs}). */
    static LutInput input(float[] x, int off, int cols, int n, boolean byteTables) {
        return byteTables ? ThreadInputs.input(LUT_BYTES, x, off, cols, n, (v, o, c, r) -> LutInput.of(v, o, c, true, r))
                : ThreadInputs.input(LUT_12, x, off, cols, n, (v, o, c, r) -> LutInput.of(v, o, c, false, r));
    }

    /** A mixed matrix's 8-bit tiles' input ({@link SplitInput} with pairs), kept per thread as {@link #input}. */
    static SplitInput pairInput(float[] x, int off, int cols, int n) {
        return ThreadInputs.input(PAIRS, x, off, cols, n, (v, o, c, r) -> SplitInput.of(v, o, c, true, r));
    }

    /** {@link ThreadInputs} keys of the two kinds of tables and of the mixed 8-bit tiles' input (ByteRowKernels' keys stay below 2^40). */
    private static final long LUT_12 = 1L << 40, LUT_BYTES = 2L << 40, PAIRS = 3L << 40;

    /** Writes block {@code rb}'s 16 accumulated rows of each input, times {@code outScale}, to {@code y[b·yStride + r]}, rows in [r0, r1) only. */
    private static void store(float[] acc, int n, int rb, float[] y, int yOff, int yStride, int r0, int r1, float outScale) {
        store(acc, n, rb, y, yOff, yStride, r0, r1, outScale, false);
    }

    /** As above; {@code add}: adds to {@code y} (a later column panel) instead of writing it. */
    private static void store(float[] acc, int n, int rb, float[] y, int yOff, int yStride, int r0, int r1, float outScale, boolean add) {
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < ROWS; i++) {
                int r = rb * ROWS + i;
                if (r >= r0 && r < r1) {
                    int a = 2 * ROWS * b + 16 * (i / 8) + i % 8; // lanes i and i + 8 hold the row's two slots
                    float v = (acc[a] + acc[a + 8]) * outScale;
                    y[yOff + b * yStride + r] = add ? y[yOff + b * yStride + r] + v : v;
                }
            }
        }
    }

    /**
     * {@code y[yOff + b·yStride + r] = row r · input b} for rows {@code r0 ≤ r < r1} of {@code w} (2- or
     * 4-bit planes) and inputs {@code in[0..n)}. A row block's codes (16 rows) are read from memory once and
     * then from cache for each input.
     */
    static void products(BitPlanes w, LutInput[] in, int n, float[] y, int yOff, int yStride, int r0, int r1) {
        boolean two = w.bits == 2;
        BitPlanes high = w.high; // 5- and 6-bit codes: planes 4-5, added after planes 0-3
        // groups of 32 (parts 2): the kernel walks half chunks, each with its own scale, sum and table slice
        int parts = w.parts, listed = w.chunks * parts, tableChunk = 16 / parts * GROUP;
        int loads = (two ? 8 : 16) / parts, tableStep = two ? 2 * GROUP : GROUP, codeStep = 32;
        long chunkBytes = 16L / parts * w.groupBytes();
        float[] consts = high != null ? SIX : two ? TWO : FOUR;
        short[] offsets = two ? NEXT_TABLE : SAME_TABLE;
        float[] acc = new float[2 * ROWS * n];
        for (int rb = r0 / ROWS; rb * ROWS < r1; rb++) {
            java.util.Arrays.fill(acc, 0f);
            long co = w.codeOffset(rb, 0, 0, 0), so = w.scaleOffset(rb, 0);
            for (int b = 0; b < n; b++) {
                LutInput x = in[b];
                float[] half = parts == 2 ? x.half32 : x.half, sum = parts == 2 ? x.sum32 : x.sum;
                block(w.codes, co, chunkBytes, codeStep, w.chunkList, 0, listed, loads, x.table, tableChunk, tableStep, offsets, consts, half, sum,
                        w.scales16, w.zeros8, w.mins16, so, w.shift, acc, 2 * ROWS * b);
                if (high != null) { // planes 4-5 in the int2 layout, weight 16, this copy's scales, no zero term
                    block(high.codes, high.codeOffset(rb, 0, 0, 0), 16L / parts * high.groupBytes(), 32, w.chunkList, 0, listed, 8 / parts, x.table, tableChunk,
                            2 * GROUP, NEXT_TABLE, HIGH6, half, sum, w.scales16, null, null, so, 0, acc, 2 * ROWS * b);
                }
            }
            store(acc, n, rb, y, yOff, yStride, r0, r1, w.outScale);
        }
    }

    /**
     * As {@link #products(BitPlanes, LutInput[], int, float[], int, int, int, int)} for a mixed matrix
     * ({@link MixedPlanes}): per row block, the chunks of each width run as one list, so a block costs
     * each chunk's own number of lookups (2 or 4 planes) and no row waits on a wider neighbour. 8-bit chunks take
     * the 16-bit products instead ({@link ByteRowKernels#tiles}, with {@code split[b]}, which may be null when
     * the matrix has none): a lookup would cost 8 planes.
     */
    static void products(MixedPlanes w, LutInput[] in, SplitInput[] split, int n, float[] y, int yOff, int yStride, int r0, int r1) {
        float[] acc = new float[2 * ROWS * n], bytes = new float[ROWS];
        for (int pl = 0; pl < w.panels; pl++) { // a column panel's tables at a time (MixedPlanes.PANEL_CHUNKS)
            for (int rb = r0 / ROWS; rb * ROWS < r1; rb++) {
                java.util.Arrays.fill(acc, 0f);
                for (int k = 0; k < MixedPlanes.BITS.length; k++) {
                    int from = w.start(pl, rb, k), count = w.start(pl, rb, k + 1) - from;
                    if (count == 0) {
                        continue;
                    }
                    long co = w.codeOffset(pl, rb, k), so = 32L * from;
                    for (int b = 0; b < n; b++) {
                        LutInput x = in[b];
                        int ao = 2 * ROWS * b;
                        switch (MixedPlanes.BITS[k]) {
                            case 8 -> {
                                SplitInput v = split[b];
                                ByteRowKernels.tiles(w.codes, co, w.chunkList, from, count, w.scales16, w.zeros8, v.hiPairs, v.loPairs, v.d, v.sum, bytes);
                                for (int i = 0; i < ROWS; i++) { // into row i's first slot (see store)
                                    acc[ao + 16 * (i / 8) + i % 8] += bytes[i];
                                }
                            }
                            case 4 -> block(w.codes, co, 512, 32, w.chunkList, from, count, 16, x.table, 16 * GROUP, GROUP, SAME_TABLE, FOUR, x.half, x.sum,
                                    w.scales16, w.zeros8, null, so, 0, acc, ao);
                            default -> block(w.codes, co, 256, 32, w.chunkList, from, count, 8, x.table, 16 * GROUP, 2 * GROUP, NEXT_TABLE, TWO, x.half, x.sum,
                                    w.scales16, w.zeros8, null, so, 0, acc, ao);
                        }
                    }
                }
                store(acc, n, rb, y, yOff, yStride, r0, r1, 1f, pl > 0);
            }
        }
    }

    /**
     * Per width, 64 floats: the weight of each 16-lane
     * sum's first and second slot (lanes 0..7, 8..15: planes 0-1 and 2-3 for 4-bit codes, so 1 and 4; both slots 1 for 2-bit codes, whose second slot is the
     * next column group; planes 0-3 of 5- and 6-bit codes 1 and 4 with the zero term over 6 planes, their planes 4-5 in the
     * int2 layout ({@link BitPlanes#high}) 16 and 16), then 1
     * for the lanes that carry the zero term (a row's zero term is added once,
     * in its first slot of its first half), then 2^(bits−1) − ½, then 0 (spare).
     */
    private static final float[] TWO = consts(2, 1, 1, true), FOUR = consts(4, 1, 4, true), SIX = consts(6, 1, 4, true), HIGH6 = consts(2, 16, 16, false);

    private static float[] consts(int bits, float slot0, float slot1, boolean zeroTerm) {
        float[] c = new float[64];
        for (int i = 0; i < 16; i++) {
            c[i] = i < 8 ? slot0 : slot1;
            c[16 + i] = i < 8 && zeroTerm ? 1f : 0f;
            c[32 + i] = (1 << (bits - 1)) - 0.5f;
        }
        return c;
    }

    /** Lanes 0..7 and again 0..7 (rows 0..7 for both slots), and 8..15 twice (rows 8..15). */
    private static final VectorShuffle<Float> EVEN_ROWS = VectorShuffle.fromOp(F, i -> i % 8), ODD_ROWS = VectorShuffle.fromOp(F, i -> 8 + i % 8);

    /*
     * One row block (16 rows) with one input: acc[ao..ao+32) += the rows' products (two slots per row, see
     * store), over the block's chunks list[from .. from + count): the k-th has its codes at co + k·chunkBytes and
     * its scales at so + 32·(k >> shift), and reads the input's tables at tableChunk·list[from + k] (16 groups of 4
     * for a chunk, 8 for the half chunks of groups of 32). The method takes no vector arguments and returns none, so whether or not C2 inlines it into
     * the loop above (it stops inlining once a compilation passes its node-count cutoff), no vector is boxed.
     *
     * Per chunk of 64 columns, each of the `loads` steps reads 32 code bytes: two 16-byte slots of 16 rows
     * (4-bit: plane pairs 0-1 and 2-3 of one column group; 2-bit: planes 0-1 of two column groups), a nibble
     * per plane. Zero-extended to 32 16-bit lanes, a nibble idx becomes the index pair (idx, idx + 16)
     * (+ 32 for the second slot of 2-bit codes), and one 64-byte permute (vpermb) reads a 16-bit table entry
     * per lane. Then the chunk's group scales (16 fp16 side by side, see BitPlanes) are widened to floats
     * with integer operations (Float16 has no vector conversion here; subnormal, infinite and NaN scales
     * included), and the 16-bit sums are scaled in float.
     */
    private static void block(MemorySegment codes, long co, long chunkBytes, int codeStep, int[] list, int from, int count, int loads, byte[] tab, int tableChunk, int tableStep,
                              short[] offsets, float[] consts, float[] half, float[] sum, MemorySegment scales, MemorySegment zeros, MemorySegment mins, long so, int shift,
                              float[] acc, int ao) {
        ShortVector off = ShortVector.fromArray(S, offsets, 0);
        FloatVector slot = FloatVector.fromArray(F, consts, 0), once = FloatVector.fromArray(F, consts, 16), base = FloatVector.fromArray(F, consts, 32);
        FloatVector accEven = FloatVector.fromArray(F, acc, ao), accOdd = FloatVector.fromArray(F, acc, ao + 16);
        for (int k = 0; k < count; k++) {
            int c = list[from + k]; // the input chunk; the codes and scales of the block's k-th listed chunk
            ShortVector lo = ShortVector.zero(S), hi = ShortVector.zero(S);
            long cc = co + chunkBytes * k;
            int to = tableChunk * c;
            for (int a = 0; a < loads; a++) {
                ShortVector z = (ShortVector) ByteVector.fromMemorySegment(CODES, codes, cc + (long) codeStep * a, LE).convertShape(ZERO_EXTEND_B2S, S, 0);
                ByteVector t = ByteVector.fromArray(B, tab, to + tableStep * a);
                ShortVector zz = z.mul((short) 0x101); // the code byte in both bytes of its lane: masks then give both index bytes
                lo = lo.add(zz.and((short) 0x0F0F).or(off).reinterpretAsBytes().selectFrom(t).reinterpretAsShorts());
                hi = hi.add(zz.lanewise(LSHR, 4).and((short) 0x0F0F).or(off).reinterpretAsBytes().selectFrom(t).reinterpretAsShorts());
            }
            // fp16 → float: magnitude bits << 13 read as a float, times 2^112 (exact, subnormals too); exponent 31 (inf, NaN) gets 255
            long go = so + 32L * (k >> shift);
            IntVector h = (IntVector) ShortVector.fromMemorySegment(H, scales, go, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
            IntVector mag = h.and(0x7FFF).lanewise(LSHL, 13);
            mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
            FloatVector s = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats();
            // the zero term's factor s·(2^(bits−1) − ½ − z), or with fp16 minimums m (w = s·u − m) s·(2^(bits−1) − ½) − m
            FloatVector sz;
            if (zeros != null) {
                sz = s.mul(base.sub((FloatVector) ByteVector.fromMemorySegment(Z, zeros, go >> 1, LE).convertShape(ZERO_EXTEND_B2I, I, 0).convert(I2F, 0)));
            } else if (mins != null) {
                IntVector hm = (IntVector) ShortVector.fromMemorySegment(H, mins, go, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                IntVector mm = hm.and(0x7FFF).lanewise(LSHL, 13); // finite minimums only (BitPlanes.ofSubBlocks checks)
                sz = s.mul(base).sub(mm.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(hm.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats());
            } else {
                sz = s.mul(-0.5f);
            }
            FloatVector xs = FloatVector.broadcast(F, sum[c]), sh = s.mul(half[c]);
            FloatVector zx = sz.mul(xs);
            // int lane i holds 16-bit lanes 2i (rows 0..7) and 2i + 1 (rows 8..15) of both slots; planes 2k and 2k+1 combine as lo + 2·hi
            IntVector l = lo.reinterpretAsInts(), u = hi.reinterpretAsInts();
            IntVector even = l.lanewise(LSHL, 16).lanewise(ASHR, 16).add(u.lanewise(LSHL, 16).lanewise(ASHR, 15));
            IntVector odd = l.lanewise(ASHR, 16).add(u.lanewise(ASHR, 16).lanewise(LSHL, 1));
            accEven = ((FloatVector) even.convert(I2F, 0)).fma(sh.rearrange(EVEN_ROWS).mul(slot), zx.rearrange(EVEN_ROWS).fma(once, accEven));
            accOdd = ((FloatVector) odd.convert(I2F, 0)).fma(sh.rearrange(ODD_ROWS).mul(slot), zx.rearrange(ODD_ROWS).fma(once, accOdd));
        }
        accEven.intoArray(acc, ao);
        accOdd.intoArray(acc, ao + 16);
    }

    /**
     * {@code y[b·w.rows + r] = row r · x[b·cols ..]} for rows r0..r1 and inputs b < n of 2-bit codes in plane rows
     * ({@link PlaneRows}), with byte tables ({@link LutInput#ofBytes}) built in tiles that fit in L2; each tile's row
     * blocks are read from memory once.
     */
    static void products(PlaneRows w, float[] x, int n, float[] y, int r0, int r1) {
        int tile = tile(w.cols, n, 16); // byte tables: 64 bytes per 4 columns
        LutInput[] in = new LutInput[tile];
        float[] acc = ThreadInputs.mine().acc(PlaneRows.ROWS);
        for (int b0 = 0; b0 < n; b0 += tile) {
            int m = Math.min(tile, n - b0);
            for (int b = 0; b < m; b++) {
                in[b] = input(x, (b0 + b) * w.cols, w.cols, n, true);
            }
            for (int rb = r0 / PlaneRows.ROWS; rb * PlaneRows.ROWS < r1; rb++) {
                for (int b = 0; b < m; b++) {
                    LutInput v = in[b];
                    planeRows(w.data, rb * w.blockBytes, w.cols, w.group, w.withZeros, v.bytes, v.half, v.sum, acc);
                    for (int i = Math.max(0, r0 - rb * PlaneRows.ROWS); i < PlaneRows.ROWS && rb * PlaneRows.ROWS + i < r1; i++) {
                        y[(b0 + b) * w.rows + rb * PlaneRows.ROWS + i] = acc[i];
                    }
                }
            }
        }
    }

    private static final VectorSpecies<Short> SCALES16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> ZEROS16 = ByteVector.SPECIES_128;

    /**
     * One block of 64 rows of 2-bit codes ({@link PlaneRows}) with one input's byte tables: acc[0..64) = the rows'
     * products. Per 4 columns one load of the block's 64 plane bytes; each nibble (plane 0 low, plane 1 high) indexes
     * the group's 16 biased entries (a 64-byte load from them) with one permute, which gives all 64 rows' entries.
     * The entries are summed in 16-bit lanes as a whole ({@code lo + 256·hi}, mod 2^16) beside their high bytes, so a
     * chunk's low-byte sums are {@code Σ whole − 256·Σ high} (at most 16·255, exact) with no per-step widening. Per
     * chunk of 64 columns, {@code P_0 + 2·P_1} less the bias (6144) is split into 32-bit lanes by shifts and scaled by
     * the chunk's half step; per group the rows take {@code s·(Σ half·P + (1.5 − z)·X)} ({@link LutKernels}' sum).
     */
    static void planeRows(MemorySegment m, long base, int cols, int group, boolean zeros, byte[] tab, float[] half, float[] sum,
                          float[] acc) {
        FloatVector t0 = FloatVector.zero(F), t1 = t0, t2 = t0, t3 = t0, p0 = t0, p1 = t0, p2 = t0, p3 = t0;
        float xs = 0f;
        long gb = PlaneRows.groupBytes(group, zeros), g0 = base; // the current group's offset
        for (int c = 0, inGroup = 0; c < cols; c += 64) {
            long at = g0 + 16L * inGroup;
            int to = 4 * c;
            ShortVector w0 = ShortVector.zero(S), h0 = w0, w1 = w0, h1 = w0;
            for (int s = 0; s < 16; s++) {
                ByteVector b = ByteVector.fromMemorySegment(B, m, at + 64L * s, LE);
                ByteVector t = ByteVector.fromArray(B, tab, to + 16 * s); // lanes 0..15: group s's entries (the rest unread)
                ShortVector l0 = b.and((byte) 0x0F).selectFrom(t).reinterpretAsShorts();
                ShortVector l1 = b.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and((byte) 0x0F).selectFrom(t).reinterpretAsShorts();
                w0 = w0.add(l0);
                h0 = h0.add(l0.reinterpretAsInts().lanewise(LSHR, 8).reinterpretAsShorts());
                w1 = w1.add(l1);
                h1 = h1.add(l1.reinterpretAsInts().lanewise(LSHR, 8).reinterpretAsShorts());
            }
            // per 16-bit lane pair (bytes a b | c d of an int lane): w = (Σa + 256Σb | Σc + 256Σd), h = (Σb + 256Σc | Σd),
            // all mod 2^16, so w − 256·h = (Σa | Σc) and then h − 256·Σc = (Σb | Σd)
            ShortVector lo0 = w0.sub(h0.lanewise(LSHL, 8)), lo1 = w1.sub(h1.lanewise(LSHL, 8));
            ShortVector hi0 = h0.sub(lo0.reinterpretAsInts().lanewise(LSHR, 16).lanewise(LSHL, 8).and(0xFFFF).reinterpretAsShorts());
            ShortVector hi1 = h1.sub(lo1.reinterpretAsInts().lanewise(LSHR, 16).lanewise(LSHL, 8).and(0xFFFF).reinterpretAsShorts());
            // low bytes (byte lanes 4i, 4i + 2: rows 0..15, 32..47) and high bytes (4i + 1, 4i + 3: rows 16..31, 48..63)
            IntVector e = lo0.add(lo1.lanewise(LSHL, 1)).sub((short) 6144).reinterpretAsInts();
            IntVector o = hi0.add(hi1.lanewise(LSHL, 1)).sub((short) 6144).reinterpretAsInts();
            FloatVector hf = FloatVector.broadcast(F, half[c >> 6]);
            p0 = ((FloatVector) e.lanewise(LSHL, 16).lanewise(ASHR, 16).convert(I2F, 0)).fma(hf, p0);
            p1 = ((FloatVector) o.lanewise(LSHL, 16).lanewise(ASHR, 16).convert(I2F, 0)).fma(hf, p1);
            p2 = ((FloatVector) e.lanewise(ASHR, 16).convert(I2F, 0)).fma(hf, p2);
            p3 = ((FloatVector) o.lanewise(ASHR, 16).convert(I2F, 0)).fma(hf, p3);
            xs += sum[c >> 6];
            inGroup += 64;
            if (inGroup == group) { // the end of a group: its zero term and scales
                long sa = g0 + 16L * group;
                FloatVector zt0, zt1, zt2, zt3;
                if (zeros) {
                    FloatVector x15 = FloatVector.broadcast(F, 1.5f * xs), xv = FloatVector.broadcast(F, xs);
                    zt0 = ((FloatVector) ByteVector.fromMemorySegment(ZEROS16, m, sa + 128, LE).convertShape(ZERO_EXTEND_B2I, I, 0).convert(I2F, 0)).neg().fma(xv, x15);
                    zt1 = ((FloatVector) ByteVector.fromMemorySegment(ZEROS16, m, sa + 144, LE).convertShape(ZERO_EXTEND_B2I, I, 0).convert(I2F, 0)).neg().fma(xv, x15);
                    zt2 = ((FloatVector) ByteVector.fromMemorySegment(ZEROS16, m, sa + 160, LE).convertShape(ZERO_EXTEND_B2I, I, 0).convert(I2F, 0)).neg().fma(xv, x15);
                    zt3 = ((FloatVector) ByteVector.fromMemorySegment(ZEROS16, m, sa + 176, LE).convertShape(ZERO_EXTEND_B2I, I, 0).convert(I2F, 0)).neg().fma(xv, x15);
                } else {
                    zt0 = FloatVector.broadcast(F, -0.5f * xs);
                    zt1 = zt0;
                    zt2 = zt0;
                    zt3 = zt0;
                }
                // fp16 → float as in block
                IntVector h = (IntVector) ShortVector.fromMemorySegment(SCALES16, m, sa, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                IntVector mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                t0 = p0.add(zt0).fma(mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats(), t0);
                h = (IntVector) ShortVector.fromMemorySegment(SCALES16, m, sa + 32, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                t1 = p1.add(zt1).fma(mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats(), t1);
                h = (IntVector) ShortVector.fromMemorySegment(SCALES16, m, sa + 64, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                t2 = p2.add(zt2).fma(mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats(), t2);
                h = (IntVector) ShortVector.fromMemorySegment(SCALES16, m, sa + 96, LE).convertShape(ZERO_EXTEND_S2I, I, 0);
                mag = h.and(0x7FFF).lanewise(LSHL, 13);
                mag = mag.blend(mag.or(0x70000000), mag.compare(VectorOperators.GE, 0x0F800000));
                t3 = p3.add(zt3).fma(mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(h.and(0x8000).lanewise(LSHL, 16)).reinterpretAsFloats(), t3);
                p0 = FloatVector.zero(F);
                p1 = p0;
                p2 = p0;
                p3 = p0;
                xs = 0f;
                inGroup = 0;
                g0 += gb;
            }
        }
        t0.intoArray(acc, 0);
        t1.intoArray(acc, 16);
        t2.intoArray(acc, 32);
        t3.intoArray(acc, 48);
    }
}

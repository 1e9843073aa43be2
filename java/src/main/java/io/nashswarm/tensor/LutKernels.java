package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static io.nashswarm.tensor.PackedKernels.LE;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.B2S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

/**
 * Table-lookup products of integer group codes (after T-MAC, EuroSys 2025): the work per weight follows
 * its bits, since a {@code b}-bit code costs {@code b} table lookups per 16 rows and 4 columns.
 *
 * <h2>The sum</h2>
 * With code bits {@code β_k} of {@code u} and signs {@code σ_k = 2β_k − 1},
 * {@code u − 2^(b−1) = ½·Σ_k 2^k·σ_k − ½}. So a chunk's dot product of codes with zero {@code z} is
 * {@code Σ (u − z)·x = ½·Σ_k 2^k·P_k + (2^(b−1) − ½ − z)·X}, where {@code X} is the chunk's input sum and
 * {@code P_k = Σ_groups T[plane k's nibble]} sums the signed tables of {@link LutInput}. One
 * {@code vpshufb} ({@code selectFrom} on {@link ByteVector#SPECIES_128}) looks up 16 rows' table entries
 * of one plane at once ({@link BitPlanes} puts the rows side by side); they are widened to 16-bit lanes
 * and added per plane, 16 per chunk. The planes are combined in 16 bits (at most {@code 3·16·127}),
 * converted to float
 * per chunk, and scaled by the table step and the row scales; the zero term is the chunk's input sum times
 * {@code s·(2^(b−1) − ½ − z)} ({@link BitPlanes#factors}, per block of rows). Error bound: {@link LutInput}.
 *
 * <h2>The JIT</h2>
 * The vector work of one chunk (16 rows, 64 columns, one input) is a method of its own that takes and
 * returns no vector, called from one loop nest for every width: a kernel with its loops, epilogue and
 * helpers passed C2's node-count cutoff (18000 nodes) while parsing, after which ordinary helpers were
 * no longer inlined and their vectors were boxed (measured 10–50x slower, and depending on what had
 * compiled before). Within a chunk method no helper of our own is called; the Vector API's methods are
 * force-inlined. Even/odd 16-bit lanes are split with shifts (a part-1 {@code convertShape} becomes a
 * lane-crossing emulation under AVX2), and the row order of {@link BitPlanes} makes even lanes rows 0..7
 * and odd lanes rows 8..15, so each result vector stores to 8 consecutive rows.
 *
 * <h2>Batches</h2>
 * Every kernel takes {@code n} inputs: per row block and chunk, the block's codes (256 bytes for int2)
 * are loaded from memory once and then from L1 for each input.
 *
 * <h2>Which widths</h2>
 * 2-bit codes only, for now. A 4-bit kernel (4 lookups per 16 rows and 4 columns) measured 1.17x the
 * 16-bit integer kernel at 4096x11008, but its int8 tables moved aidreams260K's greedy int4 text after
 * 10–15 tokens, so int4 stays on {@link IntKernels}. An 8-bit kernel (8 lookups, planes combined in two
 * halves) gave a tiny GPT-2 7% relative logit error against 3% allowed (ModelQuantizerTest), so int8
 * stays on the exact float kernels. Both need int16 tables (two lookups per plane), not done yet
 * (README › Kernels). Callers pass tiles of inputs whose
 * tables fit in L2 ({@link #tile}).
 */
final class LutKernels {
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int ROWS = BitPlanes.ROWS;
    private static final byte[] NIBBLES = new byte[16];

    static {
        java.util.Arrays.fill(NIBBLES, (byte) 0x0F);
    }

    private LutKernels() {}

    /** Inputs per call whose tables (4 bytes per column each) stay within about 256 KiB. */
    static int tile(int cols, int n) {
        return Math.max(1, Math.min(n, (64 << 10) / cols));
    }

    /** Writes block {@code rb}'s 16 accumulated rows of each input to {@code y[b·yStride + r]}, rows in [r0, r1) only. */
    private static void store(float[] acc, int n, int rb, float[] y, int yOff, int yStride, int r0, int r1) {
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < ROWS; i++) {
                int r = rb * ROWS + i;
                if (r >= r0 && r < r1) {
                    y[yOff + b * yStride + r] = acc[ROWS * b + i];
                }
            }
        }
    }

    /**
     * {@code y[yOff + b·yStride + r] = row r · input b} for rows {@code r0 ≤ r < r1} of {@code w} (2-bit
     * planes) and inputs {@code in[0..n)}.
     */
    static void products(BitPlanes w, LutInput[] in, int n, float[] y, int yOff, int yStride, int r0, int r1) {
        MemorySegment codes = w.codes;
        int chunks = w.chunks, shift = w.shift;
        float[] acc = new float[ROWS * n], f = new float[32 * w.groups];
        for (int rb = r0 / ROWS; rb * ROWS < r1; rb++) {
            java.util.Arrays.fill(acc, 0f);
            w.factors(rb, f);
            for (int c = 0; c < chunks; c++) {
                int fo = 32 * (c >> shift);
                long co = w.codeOffset(rb, c, 0, 0);
                for (int b = 0; b < n; b++) {
                    LutInput x = in[b];
                    chunk2(codes, co, x.table, 256 * c, x.half[c], x.sum[c], f, fo, acc, ROWS * b);
                }
            }
            store(acc, n, rb, y, yOff, yStride, r0, r1);
        }
    }

    /*
     * One chunk of 16 rows and 64 columns with one input: acc[ao..ao+16) += the rows' products. The chunk
     * methods take no vector arguments and return none, so whether or not C2 inlines them into the loop
     * above (it stops inlining once a compilation passes its node-count cutoff), no vector is boxed.
     */

    /** 2-bit planes: 16 bytes per column group (planes 0 and 1 as nibbles). */
    private static void chunk2(MemorySegment codes, long co, byte[] tab, int to, float h, float x, float[] f, int fo, float[] acc, int ao) {
        ByteVector nib = ByteVector.fromArray(B, NIBBLES, 0); // loaded, not a constant: C2 rematerializes a constant at every use
        ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S);
        for (int a = 0; a < 16; a++) {
            ByteVector t = ByteVector.fromArray(B, tab, to + 16 * a);
            ByteVector p = ByteVector.fromMemorySegment(B, codes, co + 16L * a, LE);
            a0 = a0.add(((ShortVector) p.and(nib).selectFrom(t).convertShape(B2S, S, 0)));
            a1 = a1.add(((ShortVector) p.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and(nib).selectFrom(t).convertShape(B2S, S, 0)));
        }
        ShortVector s = a1.add(a1).add(a0);
        FloatVector xs = FloatVector.broadcast(F, x);
        ((FloatVector) s.reinterpretAsInts().lanewise(LSHL, 16).lanewise(ASHR, 16).convert(I2F, 0)).mul(h)
                .fma(FloatVector.fromArray(F, f, fo), FloatVector.fromArray(F, f, fo + 16).fma(xs, FloatVector.fromArray(F, acc, ao))).intoArray(acc, ao);
        ((FloatVector) s.reinterpretAsInts().lanewise(ASHR, 16).convert(I2F, 0)).mul(h)
                .fma(FloatVector.fromArray(F, f, fo + 8), FloatVector.fromArray(F, f, fo + 24).fma(xs, FloatVector.fromArray(F, acc, ao + 8))).intoArray(acc, ao + 8);
    }
}

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
 * and added per plane, 16 per chunk. The planes are combined in 16 bits (at most {@code 15·16·127 = 30480}
 * for 4 planes, so no overflow; 8-bit codes combine two halves of 4 planes in float), converted to float
 * per chunk, and scaled by the table step and the row scales; the zero term is the chunk's input sum times
 * {@code s·(2^(b−1) − ½ − z)} ({@link BitPlanes#factors}, per block of rows). Error bound: {@link LutInput}.
 *
 * <h2>The JIT</h2>
 * One method per width, each with its whole loop nest, as for {@link IntKernels}: a compilation that
 * inlines two kernels exceeds the JIT's inlining budget and boxes vectors. The loops call no helper of
 * their own: the Vector API's methods are force-inlined, but a kernel this size passes C2's node-count
 * cutoff (18000 nodes) while parsing, after which an ordinary helper is no longer inlined and its
 * vectors are boxed (measured: 10–50x slower). Even/odd 16-bit lanes are split with shifts (a part-1 {@code convertShape} becomes a
 * lane-crossing emulation under AVX2), and the row order of {@link BitPlanes} makes even lanes rows 0..7
 * and odd lanes rows 8..15, so each result vector stores to 8 consecutive rows.
 *
 * <h2>Batches</h2>
 * Every kernel takes {@code n} inputs: per row block and chunk, the block's codes (256 bytes for int2)
 * are loaded from memory once and then from L1 for each input.
 *
 * <h2>Which widths</h2>
 * 2- and 8-bit codes. A 4-bit kernel (4 lookups per 16 rows and 4 columns) measured 1.17x the 16-bit
 * integer kernel at 4096x11008, but its int8 tables moved aidreams260K's greedy int4 text within 10–15
 * tokens, so int4 stays on {@link IntKernels} (README › Kernels). Callers pass tiles of inputs whose
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
    private static final FloatVector SIXTEEN = FloatVector.broadcast(FloatVector.SPECIES_256, 16f);

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
     * {@code y[yOff + b·yStride + r] = row r · input b} for rows {@code r0 ≤ r < r1} of 2-bit planes and
     * inputs {@code in[0..n)}.
     */
    static void int2(BitPlanes w, LutInput[] in, int n, float[] y, int yOff, int yStride, int r0, int r1) {
        MemorySegment codes = w.codes;
        ByteVector nib = ByteVector.fromArray(B, NIBBLES, 0); // loaded, not a constant: C2 rematerializes a constant at every use
        int chunks = w.chunks, shift = w.shift;
        float[] acc = new float[ROWS * n], f = new float[32 * w.groups];
        for (int rb = r0 / ROWS; rb * ROWS < r1; rb++) {
            java.util.Arrays.fill(acc, 0f);
            w.factors(rb, f);
            for (int c = 0; c < chunks; c++) {
                int fo = 32 * (c >> shift);
                FloatVector se = FloatVector.fromArray(F, f, fo), so = FloatVector.fromArray(F, f, fo + 8);
                FloatVector ze = FloatVector.fromArray(F, f, fo + 16), zo = FloatVector.fromArray(F, f, fo + 24);
                long co = w.codeOffset(rb, c, 0, 0);
                for (int b = 0; b < n; b++) {
                    byte[] tab = in[b].table;
                    int to = c * 256;
                    ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S);
                    for (int a = 0; a < 16; a++) {
                        ByteVector t = ByteVector.fromArray(B, tab, to + 16 * a);
                        ByteVector p = ByteVector.fromMemorySegment(B, codes, co + 16L * a, LE);
                        a0 = a0.add(((ShortVector) p.and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a1 = a1.add(((ShortVector) p.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                    }
                    ShortVector s = a1.add(a1).add(a0);
                    float h = in[b].half[c], x = in[b].sum[c];
                    int ao = ROWS * b;
                    ((FloatVector) s.reinterpretAsInts().lanewise(LSHL, 16).lanewise(ASHR, 16).convert(I2F, 0)).mul(h).fma(se, ze.fma(FloatVector.broadcast(F, x), FloatVector.fromArray(F, acc, ao))).intoArray(acc, ao);
                    ((FloatVector) s.reinterpretAsInts().lanewise(ASHR, 16).convert(I2F, 0)).mul(h).fma(so, zo.fma(FloatVector.broadcast(F, x), FloatVector.fromArray(F, acc, ao + 8))).intoArray(acc, ao + 8);
                }
            }
            store(acc, n, rb, y, yOff, yStride, r0, r1);
        }
    }

    /** Like {@link #int2} for 8-bit planes: planes 0–3 and 4–7 are combined in 16 bits each, then in float. */
    static void int8(BitPlanes w, LutInput[] in, int n, float[] y, int yOff, int yStride, int r0, int r1) {
        MemorySegment codes = w.codes;
        ByteVector nib = ByteVector.fromArray(B, NIBBLES, 0); // loaded, not a constant: C2 rematerializes a constant at every use
        int chunks = w.chunks, shift = w.shift;
        float[] acc = new float[ROWS * n], f = new float[32 * w.groups];
        for (int rb = r0 / ROWS; rb * ROWS < r1; rb++) {
            java.util.Arrays.fill(acc, 0f);
            w.factors(rb, f);
            for (int c = 0; c < chunks; c++) {
                int fo = 32 * (c >> shift);
                FloatVector se = FloatVector.fromArray(F, f, fo), so = FloatVector.fromArray(F, f, fo + 8);
                FloatVector ze = FloatVector.fromArray(F, f, fo + 16), zo = FloatVector.fromArray(F, f, fo + 24);
                long co = w.codeOffset(rb, c, 0, 0);
                for (int b = 0; b < n; b++) {
                    byte[] tab = in[b].table;
                    int to = c * 256;
                    ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S), a2 = ShortVector.zero(S), a3 = ShortVector.zero(S);
                    ShortVector a4 = ShortVector.zero(S), a5 = ShortVector.zero(S), a6 = ShortVector.zero(S), a7 = ShortVector.zero(S);
                    for (int a = 0; a < 16; a++) {
                        ByteVector t = ByteVector.fromArray(B, tab, to + 16 * a);
                        long o = co + 64L * a;
                        ByteVector p01 = ByteVector.fromMemorySegment(B, codes, o, LE);
                        ByteVector p23 = ByteVector.fromMemorySegment(B, codes, o + 16, LE);
                        ByteVector p45 = ByteVector.fromMemorySegment(B, codes, o + 32, LE);
                        ByteVector p67 = ByteVector.fromMemorySegment(B, codes, o + 48, LE);
                        a0 = a0.add(((ShortVector) p01.and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a1 = a1.add(((ShortVector) p01.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a2 = a2.add(((ShortVector) p23.and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a3 = a3.add(((ShortVector) p23.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a4 = a4.add(((ShortVector) p45.and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a5 = a5.add(((ShortVector) p45.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a6 = a6.add(((ShortVector) p67.and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                        a7 = a7.add(((ShortVector) p67.reinterpretAsInts().lanewise(LSHR, 4).reinterpretAsBytes().and(nib).selectFrom(t).convertShape(B2S, S, 0)));
                    }
                    ShortVector lo = a3.add(a3).add(a2);
                    lo = lo.add(lo).add(a1);
                    lo = lo.add(lo).add(a0);
                    ShortVector hi = a7.add(a7).add(a6);
                    hi = hi.add(hi).add(a5);
                    hi = hi.add(hi).add(a4);
                    float h = in[b].half[c], x = in[b].sum[c];
                    int ao = ROWS * b;
                    ((FloatVector) hi.reinterpretAsInts().lanewise(LSHL, 16).lanewise(ASHR, 16).convert(I2F, 0)).fma(SIXTEEN, ((FloatVector) lo.reinterpretAsInts().lanewise(LSHL, 16).lanewise(ASHR, 16).convert(I2F, 0))).mul(h).fma(se, ze.fma(FloatVector.broadcast(F, x), FloatVector.fromArray(F, acc, ao))).intoArray(acc, ao);
                    ((FloatVector) hi.reinterpretAsInts().lanewise(ASHR, 16).convert(I2F, 0)).fma(SIXTEEN, ((FloatVector) lo.reinterpretAsInts().lanewise(ASHR, 16).convert(I2F, 0))).mul(h).fma(so, zo.fma(FloatVector.broadcast(F, x), FloatVector.fromArray(F, acc, ao + 8))).intoArray(acc, ao + 8);
                }
            }
            store(acc, n, rb, y, yOff, yStride, r0, r1);
        }
    }
}

package io.nashswarm.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * One input vector for the 16-bit product kernels ({@link ByteRowKernels}): per block of {@value #BLOCK} values a step
 * {@code d = max|x| / }{@value #QMAX} and integers {@code v = round(x / d)} (12 bits), each split as
 * {@code v = 63·hi + lo} with {@code |hi|, |lo| ≤ 31}, so that a byte code times either half fits a 16-bit lane eight
 * times over (8·128·31 < 2^15).
 *
 * <p>Why not llama.cpp's int8 activations (step {@code max/127}, one multiply per column): they moved the logits of a
 * random 2-layer GPT-2 with int8 weights by 4.7%, three times the 1.5% of its 8-bit weights alone (ModelQuantizerTest
 * allows 3%). Steps 16 times finer cost a second multiply per column; a 15-bit split ({@code 127·hi + lo}, two products
 * per 16-bit lane) cost more widening and ran int8 at 12.7 GB/s against this one's 16.8 (one thread, 4096x11008).
 */
final class SplitInput {
    static final int BLOCK = 32;
    /** The split {@code v = SPLIT·hi + lo}, and the largest integer whose split keeps {@code |hi|, |lo| ≤ SPLIT / 2}. */
    static final int SPLIT = 63, QMAX = SPLIT * (SPLIT / 2) + SPLIT / 2;
    private static final float ROUND = 0x1.8p23f;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    /** Shorts as many as F has floats, and twice that (a vector of ints' worth of pairs). */
    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_128, PAIRS = ShortVector.SPECIES_256;
    /** The machine's widest floats and ints (two or four vectors a block), and shorts as many as they have lanes. */
    private static final VectorSpecies<Float> WF = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> WI = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> WS = VectorSpecies.of(short.class, VectorShape.forBitSize(WF.vectorBitSize() / 2));
    /** Lane i takes lane i & ~1; per four lanes 0, 2, 1, 3; the odd lanes (for {@link #quadTerms}). */
    private static final VectorShuffle<Short> EVEN_TWICE = VectorShuffle.fromOp(WS, i -> i & ~1),
            MIDDLE_SWAPPED = VectorShuffle.fromOp(WS, i -> (i & ~3) | (i & 1) << 1 | (i & 2) >> 1);
    private static final VectorMask<Short> ODD = VectorMask.fromLong(WS, 0xAAAA_AAAA_AAAA_AAAAL);

    /** High and low parts of the integers, in the input's order ({@link #ofBytes}: the integers themselves, and no low parts). */
    final short[] hi, lo;
    /** Per block: the step; the block's values are {@code d·(63·hi + lo)}. */
    final float[] d;
    /** Per block: {@code Σ v} (for codes with zeros: {@code Σ (c − z)·v = Σ c·v − z·Σ v}). */
    final int[] sum;
    /**
     * Or null: columns 2p and 2p + 1 of {@link #hi} (and {@link #lo}) in the low and high half of int p, which a
     * broadcast spreads over the 16-bit lanes of codes stored in column pairs ({@link ByteRowKernels#tiles}).
     */
    final int[] hiPairs, loPairs;
    /**
     * Or null ({@link #ofBytes}, {@link #ofElevenBits}: the 4-bit kernels' inputs): per block of 32 columns {@link
     * #quadStride} ints, all that a kernel's step of 32 columns reads of the input, in one array so that its loop holds
     * one array's base and length (from four arrays C2 ran out of general registers, moved bases through vector registers
     * and checked each array's bounds: int4 21.8 against 19.9 instructions per 64 weights). Ints 0..15: per four columns
     * 4s .. 4s + 3 two ints, {@code v[4s] | v[4s + 2] << 16} then {@code (v[4s + 1] − 16·v[4s]) | (v[4s + 3] −
     * 16·v[4s + 2]) << 16}, which a broadcast spreads over the two 16-bit lanes of each row of the 4-bit layouts ({@link
     * ByteRows#QUAD_ROWS}). The kernels multiply the whole byte {@code b = 16·hi + lo} by the first and its high nibble by
     * the second: {@code b·v[4s] + hi·(v[4s + 1] − 16·v[4s]) = lo·v[4s] + hi·v[4s + 1]}, so the low nibble needs no mask.
     * Both fit 16 bits ({@code 17·1023 < 2^15}); the sums wrap on the way but end within 16 bits, where wrapping is exact.
     * With 11-bit inputs (int4 groups) four more: per eight columns 8t .. 8t + 7, {@code −8·(v[8t] + v[8t + 1] + v[8t + 4]
     * + v[8t + 5])} in the low half and {@code −8·(v[8t + 2] + v[8t + 3] + v[8t + 6] + v[8t + 7])} in the high half, the
     * terms that turn two steps of products with codes 0..15 into products with {@code c − 8}, the low half biased by
     * 2^15 so that it ends non-negative (the kernel then sums 32-bit lanes whole). Last, the block's {@link #d} as float
     * bits and its {@link #sum}.
     */
    final int[] quadTerms;
    /** Ints per block of {@link #quadTerms}: {@value #BYTE_TERMS} ({@link #ofBytes}) or {@value #ELEVEN_TERMS} ({@link #ofElevenBits}); 0 without. */
    final int quadStride;
    static final int BYTE_TERMS = 18, ELEVEN_TERMS = 22;
    /**
     * Places in a block's {@link #quadTerms}: int4's corrections after the 16 pairs; the step's bits, then the sum, as the
     * last two ints (the kernels index them so, not by literal offsets that would silently depend on the strides).
     */
    static final int QUAD_CORRECTIONS = 16, BYTE_STEP = BYTE_TERMS - 2, BYTE_SUM = BYTE_TERMS - 1, ELEVEN_STEP = ELEVEN_TERMS - 2;
    /**
     * Or null ({@link #ofNineBits} only, Q6_K): per sub-block of 16 columns {@value #SIX_TERMS} ints, each two 16-bit
     * halves for the low and high field of Q6_K's words ({@link ByteRows#SIX_SUB_BYTES}). Per word, its bias, then one
     * multiplier per field of the word (three, three and four): a field {@code f = Σ_k q_k·2^p_k} (whole codes, low
     * nibbles or high bits {@code q_k} at bit {@code p_k}) times {@code m_0}, then {@code f >>> p_k} times {@code m_k =
     * t_k − 2^(p_k − p_(k−1))·t_(k−1)} sums to {@code Σ q_k·t_k} mod 2^16, where {@code t_k} is the column's input for a
     * whole code or a low nibble and 16 times it for high bits. The biases ({@code −32·v} per whole code, {@code −8·v}
     * per low nibble, {@code −24·v} per high bits; the low half also + 2^15) make a word's fields end at {@code Σ (u −
     * 32)·v} split over them, each within ±(2·32 + 2·24)·255 < 2^15, the low one biased to end non-negative. The
     * fourteenth int is the input block's step ({@link #d}) as float bits, so that superBlocks reads one array (two
     * arrays: 103 against 95 instructions per 256 weights, 1.08x the time in cache).
     */
    final int[] sixTerms;
    static final int SIX_TERMS = 14, SIX_STEP = 13; // ints per sub-block; the one holding the input block's step
    /**
     * Or null ({@link #ofThreeBitTerms} only, Q3_K): per step of 32 columns {@value #THREE_TERMS} ints, each two 16-bit
     * halves for the step's two sub-blocks of 16 ({@link ByteRows#THREE_STEP_BYTES}): the bias {@code −4·Σ v} of the
     * sub-block, then per word (fields of codes 0–4, 5–9, 10–14 at bits 0, 3, .., 12 and a bit of code 15 at bit 15) six
     * multipliers as in {@link #sixTerms}, {@code m_k = t_k − 8·t_(k−1)}, the last one's {@code t} being 1, 2 or 4 times
     * code 15's input. A sub-block's fields end at {@code Σ (u − 4)·v}, within 16·4·255 < 2^15.
     */
    final int[] threeTerms;
    static final int THREE_TERMS = 19;
    /**
     * Or null ({@link #ofFiveBitTerms} only, Q5_K): per sub-block of 32 columns {@value #FIVE_TERMS} ints, each two 16-bit
     * halves for its first and second 16 columns ({@link ByteRows#FIVE_STEP_BYTES}): per word (fields of codes 3k, 3k + 1,
     * 3k + 2 at bits 0, 5, 10 and bit k of code 15 at bit 15) four multipliers as in {@link #sixTerms}, {@code m_j = t_j −
     * 32·t_(j−1)}, the last one's {@code t} being 2^k times code 15's input. A field ends at its share of {@code Σ u·v},
     * within (3·31 + 16)·255 < 2^15.
     */
    final int[] fiveTerms;
    static final int FIVE_TERMS = 20;
    /**
     * Or null ({@link #ofTwoBitTerms} only, Q2_K): per step of 32 columns {@value #TWO_TERMS} ints, each two 16-bit halves
     * for the step's two sub-blocks of 16 ({@link ByteRows#TWO_STEP_BYTES}): per word (codes 8k .. 8k + 7 at bits 0, 2,
     * .., 14) eight multipliers {@code m_j = v_j − 4·v_(j−1)}, then the sub-blocks' {@code Σ v} (for the minimums). A
     * sub-block's fields end at {@code Σ u·v}, within 16·3·255 < 2^15.
     */
    final int[] twoTerms;
    static final int TWO_TERMS = 17;
    /** One block's integers while quantizing. */
    private final int[] block = new int[BLOCK];

    private SplitInput(int cols, boolean split, boolean pairs, int quadStride, int terms) {
        hi = new short[cols];
        lo = split ? new short[cols] : null;
        d = new float[cols / BLOCK];
        sum = new int[cols / BLOCK];
        hiPairs = pairs ? new int[cols / 2] : null;
        loPairs = pairs ? new int[cols / 2] : null;
        this.quadStride = quadStride;
        this.quadTerms = quadStride > 0 ? new int[cols / BLOCK * quadStride] : null;
        this.sixTerms = terms == 6 ? new int[cols / 16 * SIX_TERMS] : null;
        this.threeTerms = terms == 3 ? new int[cols / 32 * THREE_TERMS] : null;
        this.fiveTerms = terms == 5 ? new int[cols / 32 * FIVE_TERMS] : null;
        this.twoTerms = terms == 2 ? new int[cols / 32 * TWO_TERMS] : null;
    }

    /** Whether this input's arrays hold an input of {@code cols} values with these parts (the kernels read its first cols). */
    private boolean fits(int cols, boolean split, boolean pairs, int quadStride, int terms) {
        return hi.length >= cols && (lo != null) == split && (hiPairs != null) == pairs && this.quadStride == quadStride
                && (this.sixTerms != null) == (terms == 6) && (this.threeTerms != null) == (terms == 3) && (this.fiveTerms != null) == (terms == 5)
                && (this.twoTerms != null) == (terms == 2);
    }

    /**
     * Quantizes {@code x[off .. off + cols)}, {@code cols} a multiple of {@value #BLOCK}. Non-finite inputs give
     * non-finite steps, so products with them come out non-finite too.
     */
    static SplitInput of(float[] x, int off, int cols) {
        return of(x, off, cols, false);
    }

    /** As {@link #of(float[], int, int)}, with {@link #hiPairs} and {@link #loPairs} when {@code pairs}. */
    static SplitInput of(float[] x, int off, int cols, boolean pairs) {
        return of(x, off, cols, pairs, null);
    }

    /** As {@link #of(float[], int, int, boolean)}, into {@code reuse}'s arrays where it has this input's parts and room for its columns. */
    static SplitInput of(float[] x, int off, int cols, boolean pairs, SplitInput reuse) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException("split inputs need whole blocks of " + BLOCK + ": " + cols);
        }
        SplitInput a = reuse != null && reuse.fits(cols, true, pairs, 0, 0) ? reuse
                : new SplitInput(cols, true, pairs, 0, 0);
        int[] v = a.block;
        for (int blk = 0; blk < cols / BLOCK; blk++) {
            a.d[blk] = integers(x, off + blk * BLOCK, QMAX, v);
            a.sum[blk] = 0;
            int o = blk * BLOCK;
            for (int j = 0; j < BLOCK; j += F.length()) {
                IntVector vi = IntVector.fromArray(I, v, j);
                // hi = round(v/63) (no ties: v/63 is never within 0.008 of a half), lo = v − 63·hi, both exact in float
                FloatVector vf = (FloatVector) vi.convert(VectorOperators.I2F, 0);
                FloatVector h = vf.mul(1f / SPLIT).add(ROUND).sub(ROUND);
                ((ShortVector) h.convertShape(VectorOperators.F2S, HALVES, 0)).intoArray(a.hi, o + j);
                ((ShortVector) vf.sub(h.mul(SPLIT)).convertShape(VectorOperators.F2S, HALVES, 0)).intoArray(a.lo, o + j);
                a.sum[blk] += vi.reduceLanes(VectorOperators.ADD);
            }
        }
        if (pairs) { // little-endian: shorts 2p and 2p + 1 are int p
            for (int p = 0; p < cols / 2; p += F.length()) {
                ShortVector.fromArray(PAIRS, a.hi, 2 * p).reinterpretAsInts().intoArray(a.hiPairs, p);
                ShortVector.fromArray(PAIRS, a.lo, 2 * p).reinterpretAsInts().intoArray(a.loPairs, p);
            }
        }
        return a;
    }

    /** The largest 8-bit integer of {@link #ofBytes}. */
    static final int BYTE_QMAX = 127;
    /** The largest integer of {@link #ofNineBits}. */
    static final int NINE_BIT_QMAX = 255;

    /**
     * The input as 8-bit integers (llama.cpp's activations): per block of 32 the step {@code d = max|x| / 127} and
     * {@code v = round(x / d)} in {@link #hi} and {@link #quadTerms} (no {@link #lo}, no pairs), for weights too coarse for the 12-bit
     * input to matter (Q4_K: its rounding moves a product by at most {@code Σ|ŵ|·d/2}, where the step of its 4-bit codes,
     * relative to their range, is 8.5 times the input's), at one multiply per column instead of two.
     */
    static SplitInput ofBytes(float[] x, int off, int cols) {
        return ofBytes(x, off, cols, null);
    }

    /** As {@link #ofBytes(float[], int, int)}, into {@code reuse}'s arrays where it has this input's parts and room for its columns. */
    static SplitInput ofBytes(float[] x, int off, int cols, SplitInput reuse) {
        return unsplit(x, off, cols, BYTE_QMAX, BYTE_TERMS, 0, reuse);
    }

    /**
     * As {@link #ofBytes}, with {@code d = max|x| / 255} (Q6_K: 6-bit codes, whose step relative to their range is only
     * twice an 8-bit input's; the 9-bit input halves that rounding at no cost in multiplies).
     */
    static SplitInput ofNineBits(float[] x, int off, int cols) {
        return ofNineBits(x, off, cols, null);
    }

    /** As {@link #ofNineBits(float[], int, int)}, into {@code reuse}'s arrays where it has this input's parts and room for its columns. */
    static SplitInput ofNineBits(float[] x, int off, int cols, SplitInput reuse) {
        return unsplit(x, off, cols, NINE_BIT_QMAX, 0, 6, reuse);
    }

    /** As {@link #ofNineBits(float[], int, int, SplitInput)}, with {@link #threeTerms} instead of {@link #sixTerms} (Q3_K). */
    static SplitInput ofThreeBitTerms(float[] x, int off, int cols, SplitInput reuse) {
        return unsplit(x, off, cols, NINE_BIT_QMAX, 0, 3, reuse);
    }

    /** As {@link #ofNineBits(float[], int, int, SplitInput)}, with {@link #fiveTerms} instead of {@link #sixTerms} (Q5_K). */
    static SplitInput ofFiveBitTerms(float[] x, int off, int cols, SplitInput reuse) {
        return unsplit(x, off, cols, NINE_BIT_QMAX, 0, 5, reuse);
    }

    /** As {@link #ofNineBits(float[], int, int, SplitInput)}, with {@link #twoTerms} instead of {@link #sixTerms} (Q2_K). */
    static SplitInput ofTwoBitTerms(float[] x, int off, int cols, SplitInput reuse) {
        return unsplit(x, off, cols, NINE_BIT_QMAX, 0, 2, reuse);
    }

    /** The largest integer of {@link #ofElevenBits}. */
    static final int ELEVEN_BIT_QMAX = 1023;

    /**
     * As {@link #ofBytes}, with {@code d = max|x| / 1023} and {@link #quadTerms}' corrections (int4 groups: with coarser
     * inputs greedy text on aidreams260K left the exact kernels' within 55 tokens; see {@link ByteRowKernels}' nibblePairs).
     */
    static SplitInput ofElevenBits(float[] x, int off, int cols) {
        return ofElevenBits(x, off, cols, null);
    }

    /** As {@link #ofElevenBits(float[], int, int)}, into {@code reuse}'s arrays where it has this input's parts and room for its columns. */
    static SplitInput ofElevenBits(float[] x, int off, int cols, SplitInput reuse) {
        return unsplit(x, off, cols, ELEVEN_BIT_QMAX, ELEVEN_TERMS, 0, reuse);
    }

    private static SplitInput unsplit(float[] x, int off, int cols, int qmax, int quadStride, int terms, SplitInput reuse) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException("byte inputs need whole blocks of " + BLOCK + ": " + cols);
        }
        SplitInput a = reuse != null && reuse.fits(cols, false, false, quadStride, terms) ? reuse
                : new SplitInput(cols, false, false, quadStride, terms);
        int[] v = a.block;
        for (int blk = 0; blk < cols / BLOCK; blk++) {
            int base = off + blk * BLOCK, o = blk * BLOCK;
            FloatVector m = FloatVector.fromArray(WF, x, base).abs();
            for (int j = WF.length(); j < BLOCK; j += WF.length()) {
                m = m.max(FloatVector.fromArray(WF, x, base + j).abs());
            }
            float max = m.reduceLanes(VectorOperators.MAX), inv = max > 0 ? qmax / max : 0f;
            a.d[blk] = max / qmax;
            if (inv == Float.POSITIVE_INFINITY) { // a max below qmax·2^-128: integers() scales in double
                integers(x, base, qmax, v);
                tinyBlock(a, o, v);
                continue;
            }
            IntVector total = IntVector.zero(WI);
            for (int j = 0; j < BLOCK; j += WF.length()) {
                IntVector vi = ((IntVector) FloatVector.fromArray(WF, x, base + j).mul(inv).add(ROUND).sub(ROUND)
                        .convert(VectorOperators.F2I, 0)).max(-qmax).min(qmax);
                ShortVector vs = (ShortVector) vi.convertShape(VectorOperators.I2S, WS, 0);
                vs.intoArray(a.hi, o + j);
                total = total.add(vi);
                if (quadStride > 0) { // see the field: per four columns v[4s], v[4s + 2], v[4s + 1] − 16·v[4s], v[4s + 3] − 16·v[4s + 2]
                    ShortVector w = vs.sub(vs.rearrange(EVEN_TWICE).lanewise(VectorOperators.LSHL, 4));
                    vs.blend(w, ODD).rearrange(MIDDLE_SWAPPED).reinterpretAsInts().intoArray(a.quadTerms, blk * quadStride + j / 2);
                }
                if (quadStride == ELEVEN_TERMS) {
                    IntVector g = vi.add(vi.rearrange(NEXT_1));
                    IntVector c = g.add(g.rearrange(NEXT_4)).mul(-8); // lane 8t: −8·(v[8t] + v[8t+1] + v[8t+4] + v[8t+5]), 8t+2: the others
                    c.add(1 << 15).and(0xFFFF).or(c.rearrange(NEXT_2).lanewise(VectorOperators.LSHL, 16)).rearrange(EVERY_8TH)
                            .intoArray(a.quadTerms, blk * quadStride + QUAD_CORRECTIONS + j / 8, FIRST_EIGHTH);
                }
            }
            a.sum[blk] = total.reduceLanes(VectorOperators.ADD);
            blockScale(a, blk);
        }
        for (int c = 0; terms == 6 && c < cols; c += 16) { // after the loop above, so that these loads find its stores retired
            sixTerms(a.hi, c, a.sixTerms, c / 16 * SIX_TERMS);
            a.sixTerms[c / 16 * SIX_TERMS + SIX_STEP] = Float.floatToRawIntBits(a.d[c / BLOCK]);
        }
        for (int c = 0; terms == 3 && c < cols; c += 32) {
            threeTerms(a.hi, c, a.threeTerms, c / 32 * THREE_TERMS);
        }
        for (int c = 0; terms == 5 && c < cols; c += 32) {
            fiveTerms(a.hi, c, a.fiveTerms, c / 32 * FIVE_TERMS);
        }
        for (int c = 0; terms == 2 && c < cols; c += 32) {
            twoTerms(a.hi, c, a.twoTerms, c / 32 * TWO_TERMS);
        }
        return a;
    }

    /** The 13 terms of {@link #sixTerms} (all but the step) of the sub-block of 16 columns at {@code c}, into {@code t[at .. at + 13)}. */
    static void sixTerms(short[] v, int c, int[] t, int at) {
        int v0 = v[c], v1 = v[c + 1], v2 = v[c + 2], v3 = v[c + 3], v4 = v[c + 4], v5 = v[c + 5], v6 = v[c + 6], v7 = v[c + 7];
        int v8 = v[c + 8], v9 = v[c + 9], v10 = v[c + 10], v11 = v[c + 11], v12 = v[c + 12], v13 = v[c + 13], v14 = v[c + 14], v15 = v[c + 15];
        // word 0: u0 u1 n6 | u2 u3 n7 at bits 0, 6, 12
        t[at] = halves(-32 * (v0 + v1) - 8 * v6 + (1 << 15), -32 * (v2 + v3) - 8 * v7);
        t[at + 1] = halves(v0, v2);
        t[at + 2] = halves(v1 - 64 * v0, v3 - 64 * v2);
        t[at + 3] = halves(v6 - 64 * v1, v7 - 64 * v3);
        // word 1: u8 u9 n14 | u10 u11 n15
        t[at + 4] = halves(-32 * (v8 + v9) - 8 * v14 + (1 << 15), -32 * (v10 + v11) - 8 * v15);
        t[at + 5] = halves(v8, v10);
        t[at + 6] = halves(v9 - 64 * v8, v11 - 64 * v10);
        t[at + 7] = halves(v14 - 64 * v9, v15 - 64 * v11);
        // word 2: u4 u5 h6 h14 | u12 u13 h7 h15 at bits 0, 6, 12, 14; high bits count 16 times
        t[at + 8] = halves(-32 * (v4 + v5) - 24 * (v6 + v14) + (1 << 15), -32 * (v12 + v13) - 24 * (v7 + v15));
        t[at + 9] = halves(v4, v12);
        t[at + 10] = halves(v5 - 64 * v4, v13 - 64 * v12);
        t[at + 11] = halves(16 * v6 - 64 * v5, 16 * v7 - 64 * v13);
        t[at + 12] = halves(16 * v14 - 64 * v6, 16 * v15 - 64 * v7);
    }

    /** {@link #threeTerms} of the step of 32 columns at {@code c}, into {@code t[at .. at + 19)}: no allocation (decode calls it per step). */
    static void threeTerms(short[] v, int c, int[] t, int at) {
        int s0 = 0, s1 = 0;
        for (int k = 0; k < 16; k++) {
            s0 += v[c + k];
            s1 += v[c + 16 + k];
        }
        t[at] = halves(-4 * s0, -4 * s1);
        for (int w = 0; w < 3; w++) {
            int p0 = 0, p1 = 0;
            for (int j = 0; j < 6; j++) {
                int t0 = j < 5 ? v[c + 5 * w + j] : (1 << w) * v[c + 15], t1 = j < 5 ? v[c + 16 + 5 * w + j] : (1 << w) * v[c + 31];
                t[at + 1 + 6 * w + j] = halves(t0 - 8 * p0, t1 - 8 * p1);
                p0 = t0;
                p1 = t1;
            }
        }
    }

    /** {@link #fiveTerms} of the sub-block of 32 columns at {@code c}, into {@code t[at .. at + 20)}. */
    static void fiveTerms(short[] v, int c, int[] t, int at) {
        for (int w = 0; w < 5; w++) {
            int p0 = 0, p1 = 0;
            for (int j = 0; j < 4; j++) {
                int t0 = j < 3 ? v[c + 3 * w + j] : (1 << w) * v[c + 15], t1 = j < 3 ? v[c + 16 + 3 * w + j] : (1 << w) * v[c + 31];
                t[at + 4 * w + j] = halves(t0 - 32 * p0, t1 - 32 * p1);
                p0 = t0;
                p1 = t1;
            }
        }
    }

    /** {@link #twoTerms} of the step of 32 columns at {@code c}, into {@code t[at .. at + 17)}. */
    static void twoTerms(short[] v, int c, int[] t, int at) {
        for (int w = 0; w < 2; w++) {
            for (int j = 0; j < 8; j++) {
                int k = c + 8 * w + j, prev0 = j == 0 ? 0 : v[k - 1], prev1 = j == 0 ? 0 : v[k + 15];
                t[at + 8 * w + j] = halves(v[k] - 4 * prev0, v[k + 16] - 4 * prev1);
            }
        }
        int s0 = 0, s1 = 0;
        for (int k = 0; k < 16; k++) {
            s0 += v[c + k];
            s1 += v[c + 16 + k];
        }
        t[at + 16] = halves(s0, s1);
    }

    private static int halves(int low, int high) {
        return low & 0xFFFF | high << 16;
    }

    /** Lane i takes lane i ^ 1, i ^ 2, i ^ 4; lanes 0, 8, .. first; the first eighth of the lanes. */
    private static final VectorShuffle<Integer> NEXT_1 = VectorShuffle.fromOp(WI, i -> i ^ 1), NEXT_2 = VectorShuffle.fromOp(WI, i -> i ^ 2),
            NEXT_4 = VectorShuffle.fromOp(WI, i -> i ^ 4),
            EVERY_8TH = VectorShuffle.fromOp(WI, i -> 8 * i % WI.length());
    private static final VectorMask<Integer> FIRST_EIGHTH = VectorMask.fromLong(WI, (1L << WI.length() / 8) - 1);

    /** {@link #unsplit}'s block at {@code o} from integers {@code v} already rounded (in double: a tiny block), in scalar code. */
    private static void tinyBlock(SplitInput a, int o, int[] v) {
        int sum = 0;
        for (int j = 0; j < BLOCK; j++) {
            a.hi[o + j] = (short) v[j];
            sum += v[j];
        }
        a.sum[o / BLOCK] = sum;
        int[] q = a.quadTerms;
        int q0 = o / BLOCK * a.quadStride;
        for (int j = 0; q != null && j < BLOCK; j += 4) {
            q[q0 + j / 2] = v[j] & 0xFFFF | v[j + 2] << 16;
            q[q0 + j / 2 + 1] = (v[j + 1] - 16 * v[j]) & 0xFFFF | (v[j + 3] - 16 * v[j + 2]) << 16;
        }
        for (int t = 0; a.quadStride == ELEVEN_TERMS && t < BLOCK; t += 8) { // see quadTerms
            int lo = -8 * (v[t] + v[t + 1] + v[t + 4] + v[t + 5]), hi = -8 * (v[t + 2] + v[t + 3] + v[t + 6] + v[t + 7]);
            q[q0 + QUAD_CORRECTIONS + t / 8] = (lo + (1 << 15)) & 0xFFFF | hi << 16;
        }
        blockScale(a, o / BLOCK);
    }

    /** Block {@code blk}'s step and sum into the last two of its {@link #quadTerms}, where the input has them. */
    private static void blockScale(SplitInput a, int blk) {
        if (a.quadTerms != null) {
            int end = (blk + 1) * a.quadStride;
            a.quadTerms[end - 2] = Float.floatToRawIntBits(a.d[blk]);
            a.quadTerms[end - 1] = a.sum[blk];
        }
    }

    /**
     * {@code v[j] = round(x[base + j] / d)} clamped to ±qmax for the block of 32 at {@code base}, {@code d = max|x| / qmax}
     * (returned): rounded half to even through the float adder (|x·inv| ≤ qmax); NaN·0 stays NaN (0 as an int), which the
     * step carries anyway; a max below qmax·2^-128, whose inverse only fits a double, in double.
     */
    private static float integers(float[] x, int base, int qmax, int[] v) {
        FloatVector m = FloatVector.zero(F);
        for (int j = 0; j < BLOCK; j += F.length()) {
            m = m.max(FloatVector.fromArray(F, x, base + j).abs());
        }
        float max = m.reduceLanes(VectorOperators.MAX), inv = max > 0 ? qmax / max : 0f;
        if (inv == Float.POSITIVE_INFINITY) {
            for (int j = 0; j < BLOCK; j++) {
                v[j] = Math.clamp((long) Math.rint(x[base + j] * (qmax / (double) max)), -qmax, qmax);
            }
        } else {
            for (int j = 0; j < BLOCK; j += F.length()) {
                ((IntVector) FloatVector.fromArray(F, x, base + j).mul(inv).add(ROUND).sub(ROUND).convert(VectorOperators.F2I, 0))
                        .max(-qmax).min(qmax).intoArray(v, j);
            }
        }
        return max / qmax;
    }
}

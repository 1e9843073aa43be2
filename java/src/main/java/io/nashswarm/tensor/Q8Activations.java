package io.nashswarm.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One input vector in llama.cpp's q8 activation form, for the integer kernels of the GGML block
 * types (Q4_K, Q6_K: {@link Q4_KMatrix}, {@link Q6_KMatrix}): every block of {@value #BLOCK} consecutive values gets a step
 * {@code d = max|x| / 127} and integers {@code q = round(x / d)} in −127..127, so each value is off by at
 * most {@code d / 2}. The integers are stored as shorts (the kernels multiply in 16-bit lanes, and a
 * code times an integer, at most 127·127, fits one).
 *
 * <p>Why per 32 and not per 256 (ggml's q8_K): Q4_K's sub-blocks are 32 weights with their own scale anyway,
 * so the finer step costs nothing and shrinks the error on rows with outliers.
 *
 * <p>Within each block the integers are stored in the order {@link #position}: the 16 even-indexed values,
 * then the 16 odd ones, the order in which a kernel meets the weights when it reads two bytes of nibbles as
 * one 16-bit lane (lane i: weights 2i and 2i+1 of a block).
 */
final class Q8Activations {
    static final int BLOCK = 32;
    /** The kernels' 16-bit lanes (a block's 32 integers as two loads) and the float lanes of their per-sub-block sums (AVX2 widths). */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Rows per tile of a batch product: a tile's blocks stay in cache while every input passes over them. */
    static final int TILE_ROWS = 16;
    private static final float ROUND = 0x1.8p23f;

    /** The integers, {@code cols} of them, in the form's order ({@link #position}). */
    final short[] q;
    /** Per block: the step; the block's values are {@code d·q}. */
    final float[] d;
    /** Per block: {@code Σ q} (the zero-point terms of types with minimums are {@code min·d·sum}). */
    final int[] sum;

    private Q8Activations(int cols) {
        q = new short[cols];
        d = new float[cols / BLOCK];
        sum = new int[cols / BLOCK];
    }

    /**
     * Quantizes {@code x[off .. off + cols)}, {@code cols} a multiple of {@value #BLOCK}. Non-finite
     * inputs give non-finite steps, so products with them come out non-finite too.
     */
    static Q8Activations of(float[] x, int off, int cols) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException("q8 activations need whole blocks of " + BLOCK + ": " + cols);
        }
        Q8Activations a = new Q8Activations(cols);
        int[] v = new int[BLOCK];
        var F = PackedKernels.F;
        for (int blk = 0; blk < cols / BLOCK; blk++) {
            int base = off + blk * BLOCK;
            FloatVector m = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += F.length()) {
                m = m.max(FloatVector.fromArray(F, x, base + j).abs());
            }
            float max = m.reduceLanes(VectorOperators.MAX);
            a.d[blk] = max / 127;
            float inv = max > 0 ? 127 / max : 0f;
            // Round half to even through the float adder (|x·inv| ≤ 127); NaN·0 stays NaN, which the step carries anyway.
            for (int j = 0; j < BLOCK; j += F.length()) {
                FloatVector f = FloatVector.fromArray(F, x, base + j).mul(inv).add(ROUND).sub(ROUND);
                ((IntVector) f.convert(VectorOperators.F2I, 0)).intoArray(v, j);
            }
            int o = blk * BLOCK, total = 0;
            for (int j = 0; j < BLOCK; j++) {
                a.q[o + position(j)] = (short) v[j];
                total += v[j];
            }
            a.sum[blk] = total;
        }
        return a;
    }

    /** Where value {@code j} of a block is stored within the block: evens first, then odds. */
    static int position(int j) {
        return (j & 1) * 16 + (j >>> 1);
    }

    /** Value {@code i} as the kernel sees it: {@code d·q}. */
    double value(int i) {
        int j = i % BLOCK;
        return (double) d[i / BLOCK] * q[i - j + position(j)];
    }
}

package io.nashswarm.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * One input vector for the 16-bit product kernels ({@link ByteRowKernels}): per block of {@value #BLOCK} values a step
 * {@code d = max|x| / }{@value #QMAX} and integers {@code v = round(x / d)}, each split as {@code v = 127·hi + lo} with
 * {@code |hi| ≤ 127} and {@code |lo| ≤ 63}, so that a byte code times either part fits a 16-bit lane (several of them
 * summed, see the kernels).
 *
 * <p>Why 15 bits and not llama.cpp's int8 activations: with int8 inputs (step {@code max/127}) the int8 products of a
 * random 2-layer GPT-2 moved its logits by 4.7%, three times the 1.5% of its 8-bit weights alone; the 15-bit input
 * adds under 1% of that. The split costs a second multiply per column, which the kernels afford: bound by memory
 * on two threads either way (bench/results/byte-rows-2026-12-03.md).
 */
final class Q15Input {
    static final int BLOCK = 32;
    /** The split {@code v = SPLIT·hi + lo}, and the largest integer whose split keeps {@code |hi|, |lo| ≤ SPLIT / 2}. */
    static final int SPLIT = 63, QMAX = SPLIT * (SPLIT / 2) + SPLIT / 2;
    private static final float ROUND = 0x1.8p23f;

    /** High and low parts of the integers, in the input's order. */
    final short[] hi, lo;
    /** Per block: the step; the block's values are {@code d·(127·hi + lo)}. */
    final float[] d;
    /** Per block: {@code Σ v} (for codes with zeros: {@code Σ (c − z)·v = Σ c·v − z·Σ v}). */
    final int[] sum;

    private Q15Input(int cols) {
        hi = new short[cols];
        lo = new short[cols];
        d = new float[cols / BLOCK];
        sum = new int[cols / BLOCK];
    }

    /**
     * Quantizes {@code x[off .. off + cols)}, {@code cols} a multiple of {@value #BLOCK}. Non-finite inputs give
     * non-finite steps, so products with them come out non-finite too.
     */
    static Q15Input of(float[] x, int off, int cols) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException("15-bit inputs need whole blocks of " + BLOCK + ": " + cols);
        }
        Q15Input a = new Q15Input(cols);
        int[] v = new int[BLOCK];
        var F = PackedKernels.F;
        for (int blk = 0; blk < cols / BLOCK; blk++) {
            int base = off + blk * BLOCK;
            FloatVector m = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += F.length()) {
                m = m.max(FloatVector.fromArray(F, x, base + j).abs());
            }
            float max = m.reduceLanes(VectorOperators.MAX);
            a.d[blk] = max / QMAX;
            float inv = max > 0 ? QMAX / max : 0f;
            if (inv == Float.POSITIVE_INFINITY) { // max below QMAX·2^-128: the inverse only fits a double
                for (int j = 0; j < BLOCK; j++) {
                    v[j] = (int) Math.rint(x[base + j] * (QMAX / (double) max));
                }
            } else {
                // Round half to even through the float adder (|x·inv| ≤ QMAX); NaN·0 stays NaN, which the step carries anyway.
                for (int j = 0; j < BLOCK; j += F.length()) {
                    FloatVector f = FloatVector.fromArray(F, x, base + j).mul(inv).add(ROUND).sub(ROUND);
                    ((IntVector) f.convert(VectorOperators.F2I, 0)).intoArray(v, j);
                }
            }
            int o = blk * BLOCK, total = 0;
            for (int j = 0; j < BLOCK; j++) {
                int vj = Math.clamp(v[j], -QMAX, QMAX), h = Math.round(vj / (float) SPLIT);
                a.hi[o + j] = (short) h;
                a.lo[o + j] = (short) (vj - SPLIT * h);
                total += vj;
            }
            a.sum[blk] = total;
        }
        return a;
    }

    /** Value {@code i} as the kernels see it. */
    double value(int i) {
        return (double) d[i / BLOCK] * (SPLIT * hi[i] + lo[i]);
    }
}

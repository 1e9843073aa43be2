package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.nashswarm.tensor.PackedKernels.F;
import static io.nashswarm.tensor.PackedKernels.LE;
import static io.nashswarm.tensor.PackedKernels.f16;

/**
 * Dot products of 4- and 2-bit codes with an input quantized to 16-bit integers ({@link QuantizedInput}):
 * integer multiply-adds in 16-bit lanes, one conversion to float per chunk of 64 weights.
 *
 * <h2>Why integers</h2>
 * On this project's AVX2 machine (measured: 16-bit multiplies, shifts, float conversions and FMAs all
 * issue at 2 per cycle and compete for the same pipes; adds and masks at 4) the float kernels spend per
 * 8 weights a conversion and an FMA plus their share of the unpacking. Here one 16-bit multiply covers
 * 16 weights; per chunk of 64 weights of 4-bit codes the work is one 32-byte load, 3 shifts and 3
 * masks to split the fields, 4 multiplies and 5 adds in shorts, a pairwise sum to 8 ints (3 shifts, 1
 * add), one conversion and one FMA with {@code scale · step}: about 13 pipe-limited operations for
 * 64 weights instead of about 20 for 32. Measured: 1.8x the best float loop (4096x11008 int4, one thread).
 *
 * <h2>Accuracy</h2>
 * Integer sums are exact; what changes is the input, rounded to {@code step/2} per value, so the product
 * of a row differs from the exact one by at most {@code Σ_c |ŵ_c|·step(c)/2} (plus float rounding of the
 * per-chunk sums), where {@code step = max|x| / qmax} of the value's chunk (qmax 546 to 4095, see
 * {@link QuantizedInput}).
 *
 * <h2>Shape</h2>
 * Groups must be whole chunks ({@link #fits}). Run kernels: one row's run of groups, chunk c meeting input chunk
 * {@code xmap[c]} (mixed rows meet the input out of order). They serve machines without 512-bit vectors, where the
 * table-lookup kernels ({@link LutKernels}) would run as scalar code: uniform int2 and the 4- and 2-bit groups of mixed
 * matrices. Uniform int4 (groups of 64k) and int8 take the 16-bit product kernels ({@link ByteRowKernels}) instead; a
 * row kernel for int4 g64 ran 1.15x slower than they do on AVX2 and was deleted.
 *
 * <h2>The JIT</h2>
 * One loop per width and kind, each in its own method: the JIT keeps a loop's vectors in registers
 * only when nothing in the loop branches on them, and only while a compilation stays within its
 * inlining budget. A method that inlines two kernels already exceeds it, and the vector operations
 * it can no longer inline box their vectors (measured 4x slower). So no method calls two kernels in a
 * loop: run kernels stay above the 325 bytes of bytecode beyond which the
 * JIT never inlines a hot method, so a per-row caller of several of them compiles each on its own.
 */
final class IntKernels {
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final int CHUNK = QuantizedInput.CHUNK;

    private IntKernels() {}

    /**
     * Whether a matrix of rows of {@code cols} weights in groups of {@code g} can use these kernels:
     * groups must be whole chunks, and a group's chunk count a power of two (the run kernels find a
     * chunk's scale with a shift) unless a row is a single group.
     */
    static boolean fits(int g, int cols) {
        int cpg = g / CHUNK;
        return g % CHUNK == 0 && (Integer.bitCount(cpg) == 1 || g == cols);
    }

    /** Shift from a chunk's index within a run to its group's index (31: one group). */
    static int groupShift(int g, int groups) {
        return groups == 1 ? 31 : Integer.numberOfTrailingZeros(g / CHUNK);
    }

    /** Sum of the 16 lanes pairwise into 8 ints, as floats. */
    private static FloatVector pairs(ShortVector p) {
        IntVector v = p.reinterpretAsInts();
        IntVector sum = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16));
        return (FloatVector) sum.convert(VectorOperators.I2F, 0);
    }

    /** The zero of the group whose field starts at bit {@code zb} (fields never straddle a byte). */
    static int zeroField(MemorySegment zeros, long zb, int mask) {
        return (zeros.get(ValueLayout.JAVA_BYTE, zb >>> 3) >>> (zb & 7)) & mask;
    }

    /** 16 code bytes widened to 16 short lanes. */
    private static ShortVector bytes16(MemorySegment codes, long o) {
        return (ShortVector) ByteVector.fromMemorySegment(B16, codes, o, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
    }

    // ---------------------------------------------------------------- run kernels

    /**
     * {@code Σ s·(u − z)·x} over a run of {@code chunks} chunks of 4-bit codes from byte {@code off}: chunk c
     * meets input chunk {@code xmap[xoff + c]}; its scale is the fp16 at {@code scaleOff + 2·(c >> shift)}; its
     * zero the 4-bit field at bit {@code zeroBit + 4·(c >> shift)} of {@code zeros}, or, with no zeros, the one
     * the input's bias holds. {@code sd} is scratch of at least {@code chunks} entries.
     *
     * <p>The method first fills {@code sd[c] = scale·step} and sums the zero terms {@code sd[c]·z·Σq} of
     * asymmetric codes, so that the main loop's only memory-segment index is linear (a scale index by shift
     * inside it made the JIT recompute range-check bounds every iteration, 3x slower) and it has no
     * per-lane multiply by the zero. Keeping both loops here also keeps the method above the JIT's limit for
     * inlining hot methods (325 bytes of bytecode): a caller that inlined two kernels would exceed its
     * inlining budget and leave vectors boxed (see the class comment).
     */
    static float int4Run(MemorySegment codes, long off, int chunks, MemorySegment scales, long scaleOff, int shift,
                         MemorySegment zeros, long zeroBit, QuantizedInput in, int[] xmap, int xoff, float[] sd) {
        java.util.Objects.checkFromIndexSize(xoff, chunks, xmap.length);
        java.util.Objects.checkFromIndexSize(0, chunks, sd.length);
        float[] step = in.step;
        float zeroTerm = 0f;
        for (int c = 0; c < chunks; c++) {
            int xc = xmap[xoff + c];
            float d = f16(scales, scaleOff + 2L * (c >> shift)) * step[xc];
            sd[c] = d;
            if (zeros != null) {
                zeroTerm += d * (float) (zeroField(zeros, zeroBit + 4L * (c >> shift), 0xF) * in.sum[xc]);
            }
        }
        short[] q = in.q, bias = in.bias;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < chunks; c++) {
            ShortVector v = ShortVector.fromMemorySegment(S, codes, off + 32L * c, LE);
            int xc = xmap[xoff + c], xo = CHUNK * xc;
            ShortVector p = ShortVector.fromArray(S, bias, 16 * xc)
                    .add(v.and((short) 0xF).mul(ShortVector.fromArray(S, q, xo)))
                    .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 16)))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 32)))
                    .add(v.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, q, xo + 48)));
            acc = pairs(p).fma(FloatVector.broadcast(F, sd[c]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) - zeroTerm;
    }

    /** Like {@link #int4Run} for 2-bit codes (2-bit zero fields). */
    static float int2Run(MemorySegment codes, long off, int chunks, MemorySegment scales, long scaleOff, int shift,
                         MemorySegment zeros, long zeroBit, QuantizedInput in, int[] xmap, int xoff, float[] sd) {
        java.util.Objects.checkFromIndexSize(xoff, chunks, xmap.length);
        java.util.Objects.checkFromIndexSize(0, chunks, sd.length);
        float[] step = in.step;
        float zeroTerm = 0f;
        for (int c = 0; c < chunks; c++) {
            int xc = xmap[xoff + c];
            float d = f16(scales, scaleOff + 2L * (c >> shift)) * step[xc];
            sd[c] = d;
            if (zeros != null) {
                zeroTerm += d * (float) (zeroField(zeros, zeroBit + 2L * (c >> shift), 3) * in.sum[xc]);
            }
        }
        short[] q = in.q, bias = in.bias;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < chunks; c++) {
            ShortVector v = bytes16(codes, off + 16L * c);
            int xc = xmap[xoff + c], xo = CHUNK * xc;
            ShortVector p = ShortVector.fromArray(S, bias, 16 * xc)
                    .add(v.and((short) 3).mul(ShortVector.fromArray(S, q, xo)))
                    .add(v.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(ShortVector.fromArray(S, q, xo + 16)))
                    .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(ShortVector.fromArray(S, q, xo + 32)))
                    .add(v.lanewise(VectorOperators.LSHR, 6).mul(ShortVector.fromArray(S, q, xo + 48)));
            acc = pairs(p).fma(FloatVector.broadcast(F, sd[c]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) - zeroTerm;
    }
}

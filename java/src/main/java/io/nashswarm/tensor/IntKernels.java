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
 * Groups must be whole chunks ({@link #fits}). Two kinds of kernel:
 * <ul>
 *   <li>row kernels, for symmetric codes whose rows are runs of 64-weight groups or a single group (the
 *       benchmark's int4/int2 g64): they loop over rows themselves and read chunk c's fp16 scale at a fixed
 *       step, so every index in the loop is a linear function of the chunk counter and the JIT hoists all
 *       bounds checks out of it;</li>
 *   <li>mapped kernels, for everything else (zeros, larger groups, mixed rows whose groups meet the input
 *       out of order): per row, the input chunk, {@code scale·step} and zero of every chunk come from arrays
 *       filled before the loop ({@link #chunkScales}, {@link #chunkZeros}).</li>
 * </ul>
 * A group-end branch that reset indices inside the loop measured 1.55x slower than the row kernel, a
 * scale index by shift 1.1x. One loop per width and kind, each in its own method: the JIT keeps a
 * loop's vectors in registers only when nothing in the loop branches on them.
 */
final class IntKernels {
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final int CHUNK = QuantizedInput.CHUNK;

    private IntKernels() {}

    /**
     * Whether a matrix of rows of {@code cols} weights in groups of {@code g} can use these kernels:
     * groups must be whole chunks, and a group's chunk count a power of two (the mapped kernels find a
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

    // ---------------------------------------------------------------- row kernels

    /**
     * {@code y[yOff + r] = Σ s·(u − 8)·x} for rows {@code r0 ≤ r < r1} of symmetric 4-bit codes: row r's
     * codes at byte {@code r·rowBytes}, chunk c's scale at byte {@code r·rowScaleBytes + scaleStep·c}.
     */
    static void int4Rows(MemorySegment codes, long rowBytes, MemorySegment scales, long rowScaleBytes, int scaleStep, int chunks,
                         QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        short[] q = in.q, bias = in.bias;
        float[] step = in.step;
        for (int r = r0; r < r1; r++) {
            long off = r * rowBytes, so = r * rowScaleBytes;
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < chunks; c++) {
                ShortVector v = ShortVector.fromMemorySegment(S, codes, off + 32L * c, LE);
                int xo = CHUNK * c;
                ShortVector p = ShortVector.fromArray(S, bias, 16 * c)
                        .add(v.and((short) 0xF).mul(ShortVector.fromArray(S, q, xo)))
                        .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 16)))
                        .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 32)))
                        .add(v.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, q, xo + 48)));
                float s = f16(scales, so + (long) scaleStep * c) * step[c];
                acc = pairs(p).fma(FloatVector.broadcast(F, s), acc);
            }
            y[yOff + r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    /** Like {@link #int4Rows} for symmetric 2-bit codes ({@code z = 2}). */
    static void int2Rows(MemorySegment codes, long rowBytes, MemorySegment scales, long rowScaleBytes, int scaleStep, int chunks,
                         QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        short[] q = in.q, bias = in.bias;
        float[] step = in.step;
        for (int r = r0; r < r1; r++) {
            long off = r * rowBytes, so = r * rowScaleBytes;
            FloatVector acc = FloatVector.zero(F);
            for (int c = 0; c < chunks; c++) {
                ShortVector v = bytes16(codes, off + 16L * c);
                int xo = CHUNK * c;
                ShortVector p = ShortVector.fromArray(S, bias, 16 * c)
                        .add(v.and((short) 3).mul(ShortVector.fromArray(S, q, xo)))
                        .add(v.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(ShortVector.fromArray(S, q, xo + 16)))
                        .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(ShortVector.fromArray(S, q, xo + 32)))
                        .add(v.lanewise(VectorOperators.LSHR, 6).mul(ShortVector.fromArray(S, q, xo + 48)));
                float s = f16(scales, so + (long) scaleStep * c) * step[c];
                acc = pairs(p).fma(FloatVector.broadcast(F, s), acc);
            }
            y[yOff + r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    // ---------------------------------------------------------------- mapped kernels

    /**
     * Per row, before a mapped kernel: {@code sd[c] = scale(c) · step(c)} for the {@code chunks} chunks of a
     * run, where chunk c's scale is the fp16 at {@code scaleOff + 2·(c >> shift)} and its step that of input
     * chunk {@code xmap[c]}.
     */
    static void chunkScales(MemorySegment scales, long scaleOff, int shift, int chunks, QuantizedInput in, int[] xmap, float[] sd) {
        float[] step = in.step;
        for (int c = 0; c < chunks; c++) {
            sd[c] = f16(scales, scaleOff + 2L * (c >> shift)) * step[xmap[c]];
        }
    }

    /** Per row, before a mapped kernel: {@code zs[c]} = the zero (fields of {@code bits} bits from bit {@code zeroBit}) of chunk c's group. */
    static void chunkZeros(MemorySegment zeros, long zeroBit, int bits, int shift, int chunks, short[] zs) {
        for (int c = 0; c < chunks; c++) {
            zs[c] = (short) zeroField(zeros, zeroBit + (long) bits * (c >> shift), (1 << bits) - 1);
        }
    }

    /**
     * {@code Σ s·(u − z)·x} over {@code chunks} chunks of 4-bit codes from byte {@code off}: chunk c meets
     * input chunk {@code xmap[c]}, with {@code sd[c] = scale·step} and zero {@code zs[c]} multiplying the
     * input's bias (1 when the input holds a symmetric zero).
     */
    static float int4Mapped(MemorySegment codes, long off, int chunks, QuantizedInput in, int[] xmap, float[] sd, short[] zs) {
        short[] q = in.q, bias = in.bias;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < chunks; c++) {
            ShortVector v = ShortVector.fromMemorySegment(S, codes, off + 32L * c, LE);
            int xc = xmap[c], xo = CHUNK * xc;
            ShortVector p = ShortVector.fromArray(S, bias, 16 * xc).mul(zs[c])
                    .add(v.and((short) 0xF).mul(ShortVector.fromArray(S, q, xo)))
                    .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 16)))
                    .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 32)))
                    .add(v.lanewise(VectorOperators.LSHR, 12).mul(ShortVector.fromArray(S, q, xo + 48)));
            acc = pairs(p).fma(FloatVector.broadcast(F, sd[c]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Like {@link #int4Mapped} for 2-bit codes. */
    static float int2Mapped(MemorySegment codes, long off, int chunks, QuantizedInput in, int[] xmap, float[] sd, short[] zs) {
        short[] q = in.q, bias = in.bias;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < chunks; c++) {
            ShortVector v = bytes16(codes, off + 16L * c);
            int xc = xmap[c], xo = CHUNK * xc;
            ShortVector p = ShortVector.fromArray(S, bias, 16 * xc).mul(zs[c])
                    .add(v.and((short) 3).mul(ShortVector.fromArray(S, q, xo)))
                    .add(v.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(ShortVector.fromArray(S, q, xo + 16)))
                    .add(v.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(ShortVector.fromArray(S, q, xo + 32)))
                    .add(v.lanewise(VectorOperators.LSHR, 6).mul(ShortVector.fromArray(S, q, xo + 48)));
            acc = pairs(p).fma(FloatVector.broadcast(F, sd[c]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}

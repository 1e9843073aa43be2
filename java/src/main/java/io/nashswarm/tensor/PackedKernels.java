package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Fused dequantize-and-dot kernels over packed codes, shared by the packed matrices.
 *
 * <h2>Code layout</h2>
 * See {@link Packing}: 8-byte units where byte j holds weight 8k + j in bit field k. One 8-byte load,
 * zero-extended to eight int lanes, yields field k (eight consecutive weights) with one shift and one
 * mask, and each meets a contiguous slice of {@code x}. 8-bit codes are stored as signed bytes
 * {@code u − 128} so that one sign-extending conversion makes them floats. The kernels step by
 * "superunits" of 32 weights (32, 16 and 8 bytes at 8, 4 and 2 bits).
 *
 * <h2>Arithmetic</h2>
 * With {@code w = s·(u − z)}, a group contributes {@code s·(Σ u·x − z·Σ x)}; {@code Σ x} per group is
 * computed once per product ({@link #groupSums}), so the inner loop is convert-and-FMA only. The loop is
 * flat over the superunits of a run with a branch at group ends: variable-length inner loops per group
 * were measured 3× slower. Everything is exact float arithmetic: activations are not quantized.
 *
 * <h2>Why the near-copies stay</h2>
 * {@code dot8}/{@code dot4}/{@code dot2}/{@code dotCodebook4} and the {@code batch*} kernels differ only in
 * how a superunit's codes become floats. Folding them into one method with a width parameter puts
 * several decoders in one body, which exceeds C2's inlining budget and leaves the vectors boxed (see
 * {@link IntKernels}' note on the JIT): one small method per width is the fast shape, so they are kept.
 */
final class PackedKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    /** Weights per superunit, the kernels' step. */
    static final int SUPER = GroupSpec.UNIT;

    private PackedKernels() {}

    static float f16(MemorySegment s, long off) {
        return Float.float16ToFloat(s.get(F16, off));
    }

    /** Bytes of {@code weights} codes at {@code bits} each. */
    static long codeBytes(long weights, int bits) {
        return weights * bits / 8;
    }

    // ---------------------------------------------------------------- per-product preparation

    /** {@code out[outOff + i] = Σ x[xOff + i·g .. + g]} for each of the {@code cols / g} groups. */
    static void groupSums(float[] x, int xOff, int cols, int g, float[] out, int outOff) {
        for (int gi = 0, c = xOff; gi < cols / g; gi++) {
            FloatVector s = FloatVector.zero(F);
            for (int end = c + g; c < end; c += 8) {
                s = s.add(FloatVector.fromArray(F, x, c));
            }
            out[outOff + gi] = s.reduceLanes(VectorOperators.ADD);
        }
    }

    /**
     * The zero of the group whose field starts at bit {@code zb}. Fields never straddle a byte (see the
     * zeros layouts), so this is one byte load; it must stay this small for the JIT to inline it into
     * the kernels' loops (under 35 bytecodes: a call there spills every vector register, measured 2× slower).
     */
    private static int zeroField(MemorySegment zeros, long zb, int mask) {
        return (zeros.get(ValueLayout.JAVA_BYTE, zb >>> 3) >>> (zb & 7)) & mask;
    }

    // ---------------------------------------------------------------- one vector

    /** {@code Σ_k s_k·(Σ u·x − z_k·Σx)} over the run, for integer codes of {@code bits} bits. */
    static float dot(int bits, GroupRun run, int g, float[] x, int xBase, float[] xsum, int xsBase) {
        return switch (bits) {
            case 8 -> dot8(run, g, x, xBase, xsum, xsBase);
            case 4 -> dot4(run, g, x, xBase, xsum, xsBase);
            case 2 -> dot2(run, g, x, xBase, xsum, xsBase);
            default -> throw new IllegalArgumentException("no kernel for " + bits + "-bit codes");
        };
    }

    static float dot8(GroupRun run, int g, float[] x, int xBase, float[] xsum, int xsBase) {
        return dot8(run.codes(), run.codeOff(), run.groups(), run.scales(), run.scaleOff(), run.scaleStep(), run.zeros(),
                run.zeroBit(), run.zeroStep(), run.zConst(), run.order(), run.from(), g, x, xBase, xsum, xsBase);
    }

    /**
     * {@link #dot8(GroupRun, int, float[], int, float[], int)} on the run's fields: uniform int8 rows call
     * this directly, since the kernel is too large to inline and a run object made per row would escape
     * (a 50257-row LM head made 50257 of them per token).
     */
    static float dot8(MemorySegment codes, long o, int groups, MemorySegment scales, long so, int scaleStep,
                      MemorySegment zeros, long zb, int zeroStep, float zConst, int[] order, int from,
                      int g, float[] x, int xBase, float[] xsum, int xsBase) {
        int spg = g / SUPER, total = groups * spg, left = spg, k = 0;
        int gi = order == null ? from : order[from], xo = xBase + gi * g;
        FloatVector acc = FloatVector.zero(F), a0 = acc, a1 = acc;
        float corr = 0f;
        for (int su = 0; su < total; su++, o += 32) {
            a0 = b2f(codes, o).fma(FloatVector.fromArray(F, x, xo), a0);
            a1 = b2f(codes, o + 8).fma(FloatVector.fromArray(F, x, xo + 8), a1);
            a0 = b2f(codes, o + 16).fma(FloatVector.fromArray(F, x, xo + 16), a0);
            a1 = b2f(codes, o + 24).fma(FloatVector.fromArray(F, x, xo + 24), a1);
            xo += 32;
            if (--left == 0) {
                float s = f16(scales, so);
                // 8-bit codes are stored as u − 128, so the zero is shifted alike (symmetric: 0).
                float z = zeros == null ? zConst : zeroField(zeros, zb, 0xFF) - 128;
                acc = a0.add(a1).fma(FloatVector.broadcast(F, s), acc);
                if (z != 0f) { // symmetric 8-bit codes have no zero term (and no group sums)
                    corr += s * z * xsum[xsBase + gi];
                }
                a0 = FloatVector.zero(F);
                a1 = a0;
                left = spg;
                so += scaleStep;
                zb += zeroStep;
                if (++k < groups) {
                    gi = order == null ? from + k : order[from + k];
                    xo = xBase + gi * g;
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - corr;
    }

    static float dot4(GroupRun run, int g, float[] x, int xBase, float[] xsum, int xsBase) {
        MemorySegment codes = run.codes(), scales = run.scales();
        long o = run.codeOff(), so = run.scaleOff(), zb = run.zeroBit();
        int spg = g / SUPER, total = run.groups() * spg, left = spg, k = 0;
        int gi = run.groupAt(0), xo = xBase + gi * g;
        FloatVector acc = FloatVector.zero(F), a0 = acc, a1 = acc;
        float corr = 0f;
        for (int su = 0; su < total; su++, o += 16) {
            IntVector v = b2i(codes, o), w = b2i(codes, o + 8);
            a0 = i2f(v.and(0xF)).fma(FloatVector.fromArray(F, x, xo), a0);
            a1 = i2f(v.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 8), a1);
            a0 = i2f(w.and(0xF)).fma(FloatVector.fromArray(F, x, xo + 16), a0);
            a1 = i2f(w.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 24), a1);
            xo += 32;
            if (--left == 0) {
                float s = f16(scales, so);
                acc = a0.add(a1).fma(FloatVector.broadcast(F, s), acc);
                corr += s * (run.zeros() == null ? run.zConst() : zeroField(run.zeros(), zb, 0xF)) * xsum[xsBase + gi];
                a0 = FloatVector.zero(F);
                a1 = a0;
                left = spg;
                so += run.scaleStep();
                zb += run.zeroStep();
                if (++k < run.groups()) {
                    gi = run.groupAt(k);
                    xo = xBase + gi * g;
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - corr;
    }

    static float dot2(GroupRun run, int g, float[] x, int xBase, float[] xsum, int xsBase) {
        MemorySegment codes = run.codes(), scales = run.scales();
        long o = run.codeOff(), so = run.scaleOff(), zb = run.zeroBit();
        int spg = g / SUPER, total = run.groups() * spg, left = spg, k = 0;
        int gi = run.groupAt(0), xo = xBase + gi * g;
        FloatVector acc = FloatVector.zero(F), a0 = acc, a1 = acc;
        float corr = 0f;
        for (int su = 0; su < total; su++, o += 8) {
            IntVector v = b2i(codes, o);
            a0 = i2f(v.and(3)).fma(FloatVector.fromArray(F, x, xo), a0);
            a1 = i2f(v.lanewise(VectorOperators.LSHR, 2).and(3)).fma(FloatVector.fromArray(F, x, xo + 8), a1);
            a0 = i2f(v.lanewise(VectorOperators.LSHR, 4).and(3)).fma(FloatVector.fromArray(F, x, xo + 16), a0);
            a1 = i2f(v.lanewise(VectorOperators.LSHR, 6)).fma(FloatVector.fromArray(F, x, xo + 24), a1);
            xo += 32;
            if (--left == 0) {
                float s = f16(scales, so);
                acc = a0.add(a1).fma(FloatVector.broadcast(F, s), acc);
                corr += s * (run.zeros() == null ? run.zConst() : zeroField(run.zeros(), zb, 3)) * xsum[xsBase + gi];
                a0 = FloatVector.zero(F);
                a1 = a0;
                left = spg;
                so += run.scaleStep();
                zb += run.zeroStep();
                if (++k < run.groups()) {
                    gi = run.groupAt(k);
                    xo = xBase + gi * g;
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - corr;
    }

    /**
     * One row of 4-bit indices into a 16-entry {@code codebook} (NF4, {@link Fp4}), {@code w = s·T[u]}, no zero
     * term: {@code groups} groups of {@code g} codes from byte {@code o} of {@code codes}, their fp16 scales
     * from byte {@code so} of {@code scales}, {@code scaleStep} bytes apart. Plain arguments rather than a
     * {@link GroupRun}: this kernel is too large to inline, so a run object made per row would escape, and it
     * made most of the heap garbage of NF4 decoding.
     */
    static float dotCodebook4(float[] codebook, MemorySegment codes, long o, int groups, MemorySegment scales, long so, int scaleStep,
                              int g, float[] x, int xBase) {
        IntVector lo = FloatVector.fromArray(F, codebook, 0).reinterpretAsInts(), hi = FloatVector.fromArray(F, codebook, 8).reinterpretAsInts();
        int spg = g / SUPER, total = groups * spg, left = spg;
        int xo = xBase;
        FloatVector acc = FloatVector.zero(F), a0 = acc, a1 = acc;
        for (int su = 0; su < total; su++, o += 16) {
            IntVector v = b2i(codes, o), w = b2i(codes, o + 8);
            a0 = lookup(v.and(0xF), lo, hi).fma(FloatVector.fromArray(F, x, xo), a0);
            a1 = lookup(v.lanewise(VectorOperators.LSHR, 4), lo, hi).fma(FloatVector.fromArray(F, x, xo + 8), a1);
            a0 = lookup(w.and(0xF), lo, hi).fma(FloatVector.fromArray(F, x, xo + 16), a0);
            a1 = lookup(w.lanewise(VectorOperators.LSHR, 4), lo, hi).fma(FloatVector.fromArray(F, x, xo + 24), a1);
            xo += 32;
            if (--left == 0) {
                acc = a0.add(a1).fma(FloatVector.broadcast(F, f16(scales, so)), acc);
                a0 = FloatVector.zero(F);
                a1 = a0;
                left = spg;
                so += scaleStep;
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Whether {@link #dotCodebook16} runs here: a 16-lane int vector holds the whole codebook, one permute per 16 codes. */
    static final boolean CODEBOOK_512 = IntVector.SPECIES_PREFERRED.length() >= 16;
    private static final VectorSpecies<Float> F16_LANES = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I16_LANES = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B16_LANES = ByteVector.SPECIES_128;

    /**
     * {@code x} reordered for {@link #dotCodebook16}: per 32 values, the columns of the low nibbles of a superunit's
     * 16 bytes (0..7, 16..23), then of the high nibbles (8..15, 24..31).
     */
    static float[] nibbleOrder(float[] x, int off, int cols) {
        float[] r = new float[cols];
        for (int c = 0; c < cols; c += SUPER) {
            System.arraycopy(x, off + c, r, c, 8);
            System.arraycopy(x, off + c + 16, r, c + 8, 8);
            System.arraycopy(x, off + c + 8, r, c + 16, 8);
            System.arraycopy(x, off + c + 24, r, c + 24, 8);
        }
        return r;
    }

    /**
     * As {@link #dotCodebook4} with 512-bit vectors and the input in {@link #nibbleOrder}: per superunit, one load of
     * its 16 bytes widened to 16 ints, and per nibble one 16-lane permute of the codebook ({@code vpermd}: the whole
     * table in a register) and one FMA. Four sums instead of two (two superunits a step) measured the same: the two
     * ports that run 512-bit operations bound it, not the FMAs' latency. About a third of the 8-lane kernel's work, which looks each 8 codes up in two
     * halves of the table and blends them.
     */
    static float dotCodebook16(float[] codebook, MemorySegment codes, long o, int groups, MemorySegment scales, long so, int scaleStep,
                               int g, float[] xr) {
        IntVector table = FloatVector.fromArray(F16_LANES, codebook, 0).reinterpretAsInts();
        int spg = g / SUPER, total = groups * spg, left = spg;
        FloatVector acc = FloatVector.zero(F16_LANES), a0 = acc, a1 = acc;
        // one flat loop: a loop per group (2 steps for groups of 64) ran 1.1-1.3x slower, split by C2 into pre, main and post loops
        for (int su = 0, xo = 0; su < total; su++, o += 16, xo += 32) {
            IntVector v = (IntVector) ByteVector.fromMemorySegment(B16_LANES, codes, o, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I16_LANES, 0);
            a0 = v.and(0xF).selectFrom(table).reinterpretAsFloats().fma(FloatVector.fromArray(F16_LANES, xr, xo), a0);
            a1 = v.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().fma(FloatVector.fromArray(F16_LANES, xr, xo + 16), a1);
            if (--left == 0) {
                acc = a0.add(a1).fma(FloatVector.broadcast(F16_LANES, f16(scales, so)), acc);
                a0 = FloatVector.zero(F16_LANES);
                a1 = a0;
                left = spg;
                so += scaleStep;
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    // ---------------------------------------------------------------- four vectors (prefill)

    /**
     * Like {@link #dot} for four input vectors at once (x offsets {@code xb[0..3]}, group sums at
     * {@code xs[0..3]}); each superunit is decoded once and used four times. Results go to {@code out[0..3]}.
     * {@code bits} 0 means NF4. One loop per width: a decoder chosen inside the loop would merge vector
     * values across branches, which the JIT cannot keep in registers (measured 5× slower).
     */
    static void dot4x(int bits, GroupRun run, int g, float[] x, int[] xb, float[] xsum, int[] xs, float[] out) {
        switch (bits) {
            case 8 -> batch8(run, g, x, xb, xsum, xs, out);
            case 4 -> batch4(run, g, x, xb, xsum, xs, out);
            case 2 -> batch2(run, g, x, xb, xsum, xs, out);
            case 0 -> batchNf4(run, g, x, xb, xsum, xs, out);
            default -> throw new IllegalArgumentException("no kernel for " + bits + "-bit codes");
        }
    }

    private static void batch8(GroupRun run, int g, float[] x, int[] xb, float[] xsum, int[] xs, float[] out) {
        MemorySegment codes = run.codes(), scales = run.scales();
        long o = run.codeOff(), so = run.scaleOff(), zb = run.zeroBit();
        int spg = g / SUPER, total = run.groups() * spg, left = spg, k = 0;
        int gi = run.groupAt(0), xo = gi * g;
        int x0 = xb[0], x1 = xb[1], x2 = xb[2], x3 = xb[3], xs0 = xs[0], xs1 = xs[1], xs2 = xs[2], xs3 = xs[3];
        FloatVector zero = FloatVector.zero(F);
        FloatVector p0 = zero, p1 = zero, p2 = zero, p3 = zero, acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
        float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f;
        for (int su = 0; su < total; su++, o += 32) {
            FloatVector d0 = b2f(codes, o), d1 = b2f(codes, o + 8), d2 = b2f(codes, o + 16), d3 = b2f(codes, o + 24);
            p0 = dot32(d0, d1, d2, d3, x, x0 + xo, p0);
            p1 = dot32(d0, d1, d2, d3, x, x1 + xo, p1);
            p2 = dot32(d0, d1, d2, d3, x, x2 + xo, p2);
            p3 = dot32(d0, d1, d2, d3, x, x3 + xo, p3);
            xo += 32;
            if (--left == 0) {
                FloatVector s = FloatVector.broadcast(F, f16(scales, so));
                acc0 = p0.fma(s, acc0);
                acc1 = p1.fma(s, acc1);
                acc2 = p2.fma(s, acc2);
                acc3 = p3.fma(s, acc3);
                float z = run.zeros() == null ? run.zConst() : zeroField(run.zeros(), zb, 0xFF) - 128;
                if (z != 0f) {
                    float sz = f16(scales, so) * z;
                    c0 += sz * xsum[xs0 + gi];
                    c1 += sz * xsum[xs1 + gi];
                    c2 += sz * xsum[xs2 + gi];
                    c3 += sz * xsum[xs3 + gi];
                }
                p0 = zero;
                p1 = zero;
                p2 = zero;
                p3 = zero;
                left = spg;
                so += run.scaleStep();
                zb += run.zeroStep();
                if (++k < run.groups()) {
                    gi = run.groupAt(k);
                    xo = gi * g;
                }
            }
        }
        out[0] = acc0.reduceLanes(VectorOperators.ADD) - c0;
        out[1] = acc1.reduceLanes(VectorOperators.ADD) - c1;
        out[2] = acc2.reduceLanes(VectorOperators.ADD) - c2;
        out[3] = acc3.reduceLanes(VectorOperators.ADD) - c3;
    }

    private static void batch4(GroupRun run, int g, float[] x, int[] xb, float[] xsum, int[] xs, float[] out) {
        MemorySegment codes = run.codes(), scales = run.scales();
        long o = run.codeOff(), so = run.scaleOff(), zb = run.zeroBit();
        int spg = g / SUPER, total = run.groups() * spg, left = spg, k = 0;
        int gi = run.groupAt(0), xo = gi * g;
        int x0 = xb[0], x1 = xb[1], x2 = xb[2], x3 = xb[3], xs0 = xs[0], xs1 = xs[1], xs2 = xs[2], xs3 = xs[3];
        FloatVector zero = FloatVector.zero(F);
        FloatVector p0 = zero, p1 = zero, p2 = zero, p3 = zero, acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
        float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f;
        for (int su = 0; su < total; su++, o += 16) {
            IntVector v = b2i(codes, o), w = b2i(codes, o + 8);
            FloatVector d0 = i2f(v.and(0xF)), d1 = i2f(v.lanewise(VectorOperators.LSHR, 4));
            FloatVector d2 = i2f(w.and(0xF)), d3 = i2f(w.lanewise(VectorOperators.LSHR, 4));
            p0 = dot32(d0, d1, d2, d3, x, x0 + xo, p0);
            p1 = dot32(d0, d1, d2, d3, x, x1 + xo, p1);
            p2 = dot32(d0, d1, d2, d3, x, x2 + xo, p2);
            p3 = dot32(d0, d1, d2, d3, x, x3 + xo, p3);
            xo += 32;
            if (--left == 0) {
                FloatVector s = FloatVector.broadcast(F, f16(scales, so));
                acc0 = p0.fma(s, acc0);
                acc1 = p1.fma(s, acc1);
                acc2 = p2.fma(s, acc2);
                acc3 = p3.fma(s, acc3);
                float z = run.zeros() == null ? run.zConst() : zeroField(run.zeros(), zb, 0xF);
                if (z != 0f) {
                    float sz = f16(scales, so) * z;
                    c0 += sz * xsum[xs0 + gi];
                    c1 += sz * xsum[xs1 + gi];
                    c2 += sz * xsum[xs2 + gi];
                    c3 += sz * xsum[xs3 + gi];
                }
                p0 = zero;
                p1 = zero;
                p2 = zero;
                p3 = zero;
                left = spg;
                so += run.scaleStep();
                zb += run.zeroStep();
                if (++k < run.groups()) {
                    gi = run.groupAt(k);
                    xo = gi * g;
                }
            }
        }
        out[0] = acc0.reduceLanes(VectorOperators.ADD) - c0;
        out[1] = acc1.reduceLanes(VectorOperators.ADD) - c1;
        out[2] = acc2.reduceLanes(VectorOperators.ADD) - c2;
        out[3] = acc3.reduceLanes(VectorOperators.ADD) - c3;
    }

    private static void batch2(GroupRun run, int g, float[] x, int[] xb, float[] xsum, int[] xs, float[] out) {
        MemorySegment codes = run.codes(), scales = run.scales();
        long o = run.codeOff(), so = run.scaleOff(), zb = run.zeroBit();
        int spg = g / SUPER, total = run.groups() * spg, left = spg, k = 0;
        int gi = run.groupAt(0), xo = gi * g;
        int x0 = xb[0], x1 = xb[1], x2 = xb[2], x3 = xb[3], xs0 = xs[0], xs1 = xs[1], xs2 = xs[2], xs3 = xs[3];
        FloatVector zero = FloatVector.zero(F);
        FloatVector p0 = zero, p1 = zero, p2 = zero, p3 = zero, acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
        float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f;
        for (int su = 0; su < total; su++, o += 8) {
            IntVector v = b2i(codes, o);
            FloatVector d0 = i2f(v.and(3)), d1 = i2f(v.lanewise(VectorOperators.LSHR, 2).and(3));
            FloatVector d2 = i2f(v.lanewise(VectorOperators.LSHR, 4).and(3)), d3 = i2f(v.lanewise(VectorOperators.LSHR, 6));
            p0 = dot32(d0, d1, d2, d3, x, x0 + xo, p0);
            p1 = dot32(d0, d1, d2, d3, x, x1 + xo, p1);
            p2 = dot32(d0, d1, d2, d3, x, x2 + xo, p2);
            p3 = dot32(d0, d1, d2, d3, x, x3 + xo, p3);
            xo += 32;
            if (--left == 0) {
                FloatVector s = FloatVector.broadcast(F, f16(scales, so));
                acc0 = p0.fma(s, acc0);
                acc1 = p1.fma(s, acc1);
                acc2 = p2.fma(s, acc2);
                acc3 = p3.fma(s, acc3);
                float z = run.zeros() == null ? run.zConst() : zeroField(run.zeros(), zb, 3);
                if (z != 0f) {
                    float sz = f16(scales, so) * z;
                    c0 += sz * xsum[xs0 + gi];
                    c1 += sz * xsum[xs1 + gi];
                    c2 += sz * xsum[xs2 + gi];
                    c3 += sz * xsum[xs3 + gi];
                }
                p0 = zero;
                p1 = zero;
                p2 = zero;
                p3 = zero;
                left = spg;
                so += run.scaleStep();
                zb += run.zeroStep();
                if (++k < run.groups()) {
                    gi = run.groupAt(k);
                    xo = gi * g;
                }
            }
        }
        out[0] = acc0.reduceLanes(VectorOperators.ADD) - c0;
        out[1] = acc1.reduceLanes(VectorOperators.ADD) - c1;
        out[2] = acc2.reduceLanes(VectorOperators.ADD) - c2;
        out[3] = acc3.reduceLanes(VectorOperators.ADD) - c3;
    }

    private static void batchNf4(GroupRun run, int g, float[] x, int[] xb, float[] xsum, int[] xs, float[] out) {
        MemorySegment codes = run.codes(), scales = run.scales();
        long o = run.codeOff(), so = run.scaleOff(), zb = run.zeroBit();
        int spg = g / SUPER, total = run.groups() * spg, left = spg, k = 0;
        int gi = run.groupAt(0), xo = gi * g;
        int x0 = xb[0], x1 = xb[1], x2 = xb[2], x3 = xb[3], xs0 = xs[0], xs1 = xs[1], xs2 = xs[2], xs3 = xs[3];
        FloatVector zero = FloatVector.zero(F);
        FloatVector p0 = zero, p1 = zero, p2 = zero, p3 = zero, acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
        float c0 = 0f, c1 = 0f, c2 = 0f, c3 = 0f;
        for (int su = 0; su < total; su++, o += 16) {
            IntVector v = b2i(codes, o), w = b2i(codes, o + 8);
            FloatVector d0 = nf4(v.and(0xF)), d1 = nf4(v.lanewise(VectorOperators.LSHR, 4));
            FloatVector d2 = nf4(w.and(0xF)), d3 = nf4(w.lanewise(VectorOperators.LSHR, 4));
            p0 = dot32(d0, d1, d2, d3, x, x0 + xo, p0);
            p1 = dot32(d0, d1, d2, d3, x, x1 + xo, p1);
            p2 = dot32(d0, d1, d2, d3, x, x2 + xo, p2);
            p3 = dot32(d0, d1, d2, d3, x, x3 + xo, p3);
            xo += 32;
            if (--left == 0) {
                FloatVector s = FloatVector.broadcast(F, f16(scales, so));
                acc0 = p0.fma(s, acc0);
                acc1 = p1.fma(s, acc1);
                acc2 = p2.fma(s, acc2);
                acc3 = p3.fma(s, acc3);
                // NF4 has no zero term.
                p0 = zero;
                p1 = zero;
                p2 = zero;
                p3 = zero;
                left = spg;
                so += run.scaleStep();
                zb += run.zeroStep();
                if (++k < run.groups()) {
                    gi = run.groupAt(k);
                    xo = gi * g;
                }
            }
        }
        out[0] = acc0.reduceLanes(VectorOperators.ADD) - c0;
        out[1] = acc1.reduceLanes(VectorOperators.ADD) - c1;
        out[2] = acc2.reduceLanes(VectorOperators.ADD) - c2;
        out[3] = acc3.reduceLanes(VectorOperators.ADD) - c3;
    }

    private static FloatVector dot32(FloatVector d0, FloatVector d1, FloatVector d2, FloatVector d3, float[] x, int at, FloatVector p) {
        p = d0.fma(FloatVector.fromArray(F, x, at), p);
        p = d1.fma(FloatVector.fromArray(F, x, at + 8), p);
        p = d2.fma(FloatVector.fromArray(F, x, at + 16), p);
        return d3.fma(FloatVector.fromArray(F, x, at + 24), p);
    }

    // ---------------------------------------------------------------- decoding steps

    private static FloatVector b2f(MemorySegment codes, long o) {
        return (FloatVector) ByteVector.fromMemorySegment(B, codes, o, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    private static IntVector b2i(MemorySegment codes, long o) {
        return (IntVector) ByteVector.fromMemorySegment(B, codes, o, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    private static FloatVector i2f(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    private static final IntVector NF4_LO = FloatVector.fromArray(F, NormalFloat4.CODEBOOK, 0).reinterpretAsInts();
    private static final IntVector NF4_HI = FloatVector.fromArray(F, NormalFloat4.CODEBOOK, 8).reinterpretAsInts();

    /** Codebook values of eight 4-bit indices: two 8-entry permutes and a blend on bit 3 (exact floats). */
    private static FloatVector nf4(IntVector idx) {
        return lookup(idx, NF4_LO, NF4_HI);
    }

    /** Values of eight 4-bit indices in the codebook whose entries 0..7 are {@code lo} and 8..15 {@code hi}. */
    private static FloatVector lookup(IntVector idx, IntVector lo, IntVector hi) {
        IntVector low = idx.and(7);
        return low.selectFrom(lo).blend(low.selectFrom(hi), idx.compare(VectorOperators.GT, 7)).reinterpretAsFloats();
    }
}

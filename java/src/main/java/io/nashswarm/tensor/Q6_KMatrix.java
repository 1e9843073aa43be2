package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q6_K: super-blocks of 256 weights in 210 bytes: 128 bytes of low nibbles {@code ql}, 64 bytes
 * of 2-bit high parts {@code qh}, sixteen int8 scales, fp16 {@code d}. In each half {@code n} (128
 * weights), weights {@code l, l+32, l+64, l+96} (l < 32) are the low nibble of ql byte {@code 64n + l},
 * the low nibble of {@code 64n + 32 + l}, and the high nibbles of the same two bytes, each with bits
 * 0-1, 2-3, 4-5, 6-7 of qh byte {@code 32n + l} on top; {@code w = d·scale·(q − 32)} per sub-block of 16.
 */
final class Q6_KMatrix extends GgmlBlockMatrix {
    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q6_K, data, rows, cols, 16);
    }

    private static ByteVector code(ByteVector nibble, ByteVector qh, int shift) {
        return nibble.or(bits(qh, shift, 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
    }

    private static final VectorSpecies<Short> S = Q8Activations.S;
    private static final VectorSpecies<Float> F8 = Q8Activations.F8;

    @Override
    int lookupBits() {
        return 6;
    }

    @Override
    int lookupOffset() {
        return 32;
    }

    @Override
    boolean hasMinimums() {
        return false;
    }

    /**
     * Where the table lookup does not run ({@link GgmlBlockMatrix#matmul}): integer products on q8 activations
     * ({@link Q8Activations}), as {@link Q4_KMatrix}'s: codes times input integers in 16-bit lanes, one block of 32
     * inputs per loop iteration. Measured 1.5–1.8x the float kernel ({@link #matmulDequantized}, kept as the tests'
     * reference), 4096x11008 and 2048x8192, one thread.
     */
    @Override
    void matmulOffLookup(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        Q8Activations[] in = new Q8Activations[n];
        Subs[] subs = new Subs[n];
        for (int b = 0; b < n; b++) {
            in[b] = Q8Activations.of(x, b * cols, cols);
            subs[b] = Subs.of(in[b]);
        }
        float[] sd = new float[64 * blocks];
        for (int t = rowStart; t < rowEnd; t += Q8Activations.TILE_ROWS) {
            int end = Math.min(rowEnd, t + Q8Activations.TILE_ROWS);
            for (int b = 0; b < n; b++) {
                rows(in[b], subs[b], y, b * rows, t, end, sd);
            }
        }
    }

    /**
     * Per sub-block of 16 inputs (Q6_K's sub-blocks): the step of its input block, and {@code Σ q} for the codes'
     * offset of 32 (in {@link Q8Activations}'s order the first 16 values of a block of 32 sit at 0..7 and 16..23).
     */
    private record Subs(float[] step, float[] sum) {
        static Subs of(Q8Activations in) {
            int n = in.q.length / 16;
            Subs s = new Subs(new float[n], new float[n]);
            for (int blk = 0; blk < in.sum.length; blk++) {
                int o = 32 * blk, first = 0;
                for (int i = 0; i < 8; i++) {
                    first += in.q[o + i] + in.q[o + 16 + i];
                }
                s.step[2 * blk] = s.step[2 * blk + 1] = in.d[blk];
                s.sum[2 * blk] = first;
                s.sum[2 * blk + 1] = in.sum[blk] - first;
            }
            return s;
        }
    }

    /**
     * Lanes {@code 2j, 2j+1} of 8 sub-block factors, each repeated 4 times: the factors of input block j. Constants
     * (static finals, constant parts in {@link #scales}): a shuffle or part the JIT cannot see as a constant is
     * not intrinsified, and the vectors it meets get boxed.
     */
    private static final VectorShuffle<Float> SPREAD0 = spread(0), SPREAD1 = spread(1), SPREAD2 = spread(2), SPREAD3 = spread(3);

    private static VectorShuffle<Float> spread(int j) {
        return VectorShuffle.fromOp(F8, i -> 2 * j + i / 4);
    }

    /**
     * For row {@code r}, {@code sd[s] = d·scale_s·step} for every sub-block {@code s} of 16 (its input block's
     * step, each four times: {@code sd[4s .. 4s+4)}, as the int lanes of {@link #rows} meet them), and the offset's
     * term {@code Σ 32·sd[s]·Σq_s}. A pass of its own, in vectors (scalar, it cost half as much as the products),
     * so that the product loop stays small (see {@link #rows}).
     */
    private float scales(int r, Subs subs, float[] sd) {
        FloatVector offset = FloatVector.zero(F8);
        for (int blk = 0; blk < blocks; blk++) {
            long o = r * rowBytes + 210L * blk;
            float d = half(o + 208);
            ByteVector sc = load16(o + 192);
            int xs = 16 * blk;
            FloatVector f0 = ((FloatVector) sc.convertShape(VectorOperators.B2F, F8, 0)).mul(FloatVector.fromArray(F8, subs.step, xs).mul(d));
            FloatVector f1 = ((FloatVector) sc.convertShape(VectorOperators.B2F, F8, 1)).mul(FloatVector.fromArray(F8, subs.step, xs + 8).mul(d));
            offset = f1.fma(FloatVector.fromArray(F8, subs.sum, xs + 8), f0.fma(FloatVector.fromArray(F8, subs.sum, xs), offset));
            // Written out: vectors passed to a method the JIT does not inline get boxed.
            f0.rearrange(SPREAD0).intoArray(sd, 4 * xs);
            f0.rearrange(SPREAD1).intoArray(sd, 4 * xs + 8);
            f0.rearrange(SPREAD2).intoArray(sd, 4 * xs + 16);
            f0.rearrange(SPREAD3).intoArray(sd, 4 * xs + 24);
            f1.rearrange(SPREAD0).intoArray(sd, 4 * xs + 32);
            f1.rearrange(SPREAD1).intoArray(sd, 4 * xs + 40);
            f1.rearrange(SPREAD2).intoArray(sd, 4 * xs + 48);
            f1.rearrange(SPREAD3).intoArray(sd, 4 * xs + 56);
        }
        return 32 * offset.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@code y[yOff + r] = Σ w·x̂} for rows {@code r0 ≤ r < r1}. Inputs {@code 32k .. 32k+32} (k = 8·block + 4n + m)
     * take their low 4 bits from the 32 ql bytes at {@code 64n + 32(m&1)} (low nibbles for m < 2, high ones
     * otherwise) and their top 2 bits from bits {@code 2m, 2m+1} of the 32 qh bytes at {@code 128 + 32n}. Both
     * load as 16 short lanes, lane i holding weights 2i and 2i+1 (low and high byte), which meet the even and
     * odd halves of the input's block ({@link Q8Activations}'s order); lanes 0..7 are sub-block 2k, lanes 8..15
     * sub-block 2k+1, each meeting its own factor ({@link #scales}). Codes 0..63 times integers up to 127, two to a lane, fit
     * 16 bits; the codes' offset of 32 comes off per row ({@link #scales}). One block of 32 per iteration, as
     * in {@link Q4_KMatrix#rows}: a bigger body overruns the JIT's inlining budget and its vectors get boxed.
     */
    private void rows(Q8Activations in, Subs subs, float[] y, int yOff, int r0, int r1, float[] sd) {
        short[] q = in.q;
        for (int r = r0; r < r1; r++) {
            float offset = scales(r, subs, sd);
            long base = r * rowBytes;
            FloatVector acc = FloatVector.zero(F8);
            for (int k = 0; k < 8 * blocks; k++) {
                long blk = base + 210L * (k >>> 3);
                int n = (k >>> 2) & 1, m = k & 3;
                ShortVector lo = ShortVector.fromMemorySegment(S, data, blk + 64 * n + 32 * (m & 1), LE)
                        .lanewise(VectorOperators.LSHR, 4 * (m >>> 1));
                ShortVector hi = ShortVector.fromMemorySegment(S, data, blk + 128 + 32 * n, LE)
                        .lanewise(VectorOperators.LSHR, 2 * m);
                // Low byte: the even weight's code, high byte: the odd one's (0..63 each).
                ShortVector c = lo.and((short) 0x0F0F).or(hi.lanewise(VectorOperators.LSHL, 4).and((short) 0x3030));
                int xo = 32 * k;
                ShortVector p = c.and((short) 0xFF).mul(ShortVector.fromArray(S, q, xo))
                        .add(c.lanewise(VectorOperators.LSHR, 8).mul(ShortVector.fromArray(S, q, xo + 16)));
                // Adjacent short lanes summed into ints (in the top halves, then shifted down; the sum, at most
                // 4·63·127, fits 16 bits): int lanes 0..3 are sub-block 2k, 4..7 sub-block 2k+1.
                IntVector pi = p.reinterpretAsInts();
                IntVector t = pi.add(pi.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
                acc = ((FloatVector) t.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F8, sd, 8 * k), acc);
            }
            y[yOff + r] = acc.reduceLanes(VectorOperators.ADD) - offset;
        }
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o + 208);
        for (int i = 0; i < 16; i++) {
            scale[i] = d * (byte) u8(o + 192 + i);
            min[i] = 0f;
        }
        for (int n = 0; n < 2; n++) {
            for (int h = 0; h < 2; h++) {
                ByteVector a = load16(o + 64 * n + 16 * h);
                ByteVector b = load16(o + 64 * n + 32 + 16 * h);
                ByteVector qh = load16(o + 128 + 32 * n + 16 * h);
                int at = 128 * n + 16 * h;
                code(bits(a, 0, 0x0F), qh, 0).intoArray(codes, at);
                code(bits(b, 0, 0x0F), qh, 2).intoArray(codes, at + 32);
                code(bits(a, 4, 0x0F), qh, 4).intoArray(codes, at + 64);
                code(bits(b, 4, 0x0F), qh, 6).intoArray(codes, at + 96);
            }
        }
    }
}

package io.nashswarm.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * One input vector quantized for the integer kernels of one code width ({@link IntKernels}).
 *
 * <p>Every chunk of {@value #CHUNK} consecutive values gets its own step {@code d = max|x| / qmax} and
 * 16-bit integers {@code q = round(x / d)}, so each value is off by at most {@code d / 2}. The integers are
 * stored in the order in which the kernel unpacks one chunk of codes (field {@code k}, lane {@code i}:
 * {@code q[64c + 16k + i]}), so every load in the kernel is contiguous; see {@link #position}.
 *
 * <h2>Why 16 bits, and why these limits</h2>
 * The kernel multiplies codes and integers in 16-bit lanes and adds the four products of a lane
 * (one per field) together with the zero-point term in 16-bit arithmetic, which wraps modulo 2^16. Only
 * the final lane value {@code Σ_k (u_k − z)·q_k} must fit in a short: with {@code |u − z| ≤ m} that needs
 * {@code 4·m·qmax ≤ 32767}, so {@code qmax = 32767 / (4m)}: 1023 for symmetric 4-bit codes (m = 8), 546
 * for asymmetric ones (m = 15), 4095 and 2730 for 2-bit codes. That is 11 to 13 bits of activation, finer
 * than the 8 bits of llama.cpp's q8 activations, at no cost: the lanes are 16 bits wide anyway.
 *
 * <p>For symmetric codes, whose zero {@code 2^(bits−1)} is the same for every group, {@code bias} holds per chunk
 * and lane {@code −zero·Σ_k q}, so the kernel starts each lane from the zero-point term and the lane sum is
 * {@code Σ_k (u_k − zero)·q_k}. Asymmetric codes start from 0 (lane sum {@code Σ_k u_k·q_k}, within the same
 * bound since {@code u ≤ m}); their zero term {@code z·Σ q} is one integer per group, subtracted in float
 * from the chunk's {@link #sum}: no per-lane multiply by the zero.
 */
final class QuantizedInput {
    /** Values per chunk: one 32-byte load of 4-bit codes, one 16-byte load of 2-bit codes. */
    static final int CHUNK = 64;
    private static final float ROUND = 0x1.8p23f;

    final short[] q;
    /** Per chunk: the step {@code d}; the chunk's values are {@code d·q}. */
    final float[] step;
    /** Per chunk, 16 lanes: {@code −zero·Σ_k q} for symmetric codes, 0 for asymmetric ones. */
    final short[] bias;
    /** Per chunk: {@code Σ q} over its {@value #CHUNK} values (the asymmetric codes' zero term is {@code z·sum}). */
    final int[] sum;

    private QuantizedInput(int chunks) {
        q = new short[chunks * CHUNK];
        step = new float[chunks];
        bias = new short[chunks * 16];
        sum = new int[chunks];
    }

    /** Largest integer of the quantized input for codes of {@code bits} bits. */
    static int qmax(int bits, boolean symmetric) {
        int m = symmetric ? 1 << (bits - 1) : (1 << bits) - 1;
        return 32767 / (4 * m);
    }

    /**
     * Position within its chunk of the value that meets lane {@code i} of field {@code k} when the kernel
     * unpacks {@code bits}-bit codes (see {@link Packing} for the byte layout):
     * <ul>
     *   <li>4 bits: a 32-byte load as 16 shorts; lane i holds bytes 2i and 2i+1, field k is bits 4k..4k+3,
     *       so byte {@code 2i + k/2}, nibble {@code k mod 2}: weight {@code 16(i/4) + 2(i mod 4) + k/2 + 8(k mod 2)};</li>
     *   <li>2 bits: a 16-byte load widened to 16 shorts; lane i is byte i, field k is bits 2k..2k+1:
     *       weight {@code 32(i/8) + (i mod 8) + 8k}.</li>
     * </ul>
     */
    static int position(int bits, int i, int k) {
        return bits == 4 ? 16 * (i / 4) + 2 * (i % 4) + k / 2 + 8 * (k % 2) : 32 * (i / 8) + (i % 8) + 8 * k;
    }

    private static final int[] ORDER4 = order(4), ORDER2 = order(2);

    /** {@code order[16k + i] = position(bits, i, k)}. */
    private static int[] order(int bits) {
        int[] o = new int[CHUNK];
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < 16; i++) {
                o[16 * k + i] = position(bits, i, k);
            }
        }
        return o;
    }

    /**
     * Quantizes {@code x[off .. off + cols)} ({@code cols} a multiple of {@value #CHUNK}) for codes of
     * {@code bits} (4 or 2) bits; {@code symmetric} codes have the zero {@code 2^(bits−1)} folded into
     * {@link #bias}. Non-finite inputs give non-finite steps, so the products come out non-finite too.
     */
    static QuantizedInput of(float[] x, int off, int cols, int bits, boolean symmetric) {
        int chunks = cols / CHUNK;
        QuantizedInput in = new QuantizedInput(chunks);
        int[] order = bits == 4 ? ORDER4 : ORDER2;
        int qmax = qmax(bits, symmetric);
        int zero = symmetric ? 1 << (bits - 1) : 0;
        int[] v = new int[CHUNK];
        for (int c = 0; c < chunks; c++) {
            int base = off + c * CHUNK;
            FloatVector m = FloatVector.zero(PackedKernels.F);
            for (int j = 0; j < CHUNK; j += 8) {
                m = m.max(FloatVector.fromArray(PackedKernels.F, x, base + j).abs());
            }
            float max = m.reduceLanes(VectorOperators.MAX);
            float d = max / qmax;
            in.step[c] = d;
            float inv = max > 0 ? qmax / max : 0f;
            // Round half to even through the float adder (|x·inv| ≤ qmax < 2^22); NaN·0 stays NaN, which the step carries anyway.
            for (int j = 0; j < CHUNK; j += 8) {
                FloatVector f = FloatVector.fromArray(PackedKernels.F, x, base + j).mul(inv).add(ROUND).sub(ROUND);
                ((IntVector) f.convert(VectorOperators.F2I, 0)).intoArray(v, j);
            }
            for (int j = 0; j < CHUNK; j++) {
                in.q[c * CHUNK + j] = (short) v[order[j]];
            }
            int total = 0;
            for (int i = 0; i < 16; i++) {
                int s = in.q[c * CHUNK + i] + in.q[c * CHUNK + 16 + i] + in.q[c * CHUNK + 32 + i] + in.q[c * CHUNK + 48 + i];
                in.bias[16 * c + i] = (short) (-zero * s);
                total += s;
            }
            in.sum[c] = total;
        }
        return in;
    }
}

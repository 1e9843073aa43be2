package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * GGML Q4_K: super-blocks of 256 weights in 144 bytes: fp16 {@code d} and {@code dmin}, 12 bytes
 * holding eight 6-bit scales and eight 6-bit minimums (see {@link #scaleMin}), 128 bytes of nibbles.
 * Weights {@code 64j + l} and {@code 64j + 32 + l} (l < 32) are the low and high nibble of byte
 * {@code 32j + l}; {@code w = d·scale·q − dmin·min} per sub-block of 32.
 */
final class Q4_KMatrix extends GgmlBlockMatrix {
    /**
     * Every block's eight 6-bit scales then eight 6-bit minimums as bytes (16 per block, in row-major block
     * order), unpacked from the 12 packed bytes on the first product (not at load: a matrix only read by rows,
     * such as an embedding, or only inspected, never needs it); the kernel then widens them in vectors.
     * Decoding them with scalar shifts per row and product took about as long as the nibble products
     * themselves. Resident cost: 16 bytes per 144-byte block (11% of the matrix), on the heap.
     */
    private volatile byte[] scaleMins;

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(QuantType.Q4_K, data, rows, cols, 32);
        if ((long) rows * blocks * 16 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("q4_K " + rows + "x" + cols + " is too large for its unpacked scale table");
        }
    }

    private byte[] scaleMins() {
        byte[] t = scaleMins;
        if (t == null) {
            synchronized (this) {
                t = scaleMins;
                if (t == null) {
                    t = new byte[rows * blocks * 16];
                    float[] sc = new float[8], mn = new float[8];
                    for (int r = 0; r < rows; r++) {
                        for (int blk = 0; blk < blocks; blk++) {
                            int at = 16 * (r * blocks + blk);
                            for (int j = 0; j < 8; j++) {
                                scaleMin(this, r * rowBytes + 144L * blk + 4, j, 1f, 1f, sc, mn);
                                t[at + j] = (byte) sc[j];
                                t[at + 8 + j] = (byte) mn[j];
                            }
                        }
                    }
                    scaleMins = t;
                }
            }
        }
        return t;
    }

    /**
     * Sub-block {@code j}'s 6-bit scale and minimum from the 12 bytes at {@code s} (as ggml's
     * get_scale_min_k4): for j < 4 the low 6 bits of bytes j and j+4; otherwise a nibble of byte j+4
     * completed by the top 2 bits of bytes j−4 and j. Sets {@code scale[j]}, {@code min[j]}.
     */
    static void scaleMin(GgmlBlockMatrix m, long s, int j, float d, float dmin, float[] scale, float[] min) {
        int sc, mn;
        if (j < 4) {
            sc = m.u8(s + j) & 63;
            mn = m.u8(s + j + 4) & 63;
        } else {
            sc = (m.u8(s + j + 4) & 0x0F) | (m.u8(s + j - 4) >>> 6) << 4;
            mn = (m.u8(s + j + 4) >>> 4) | (m.u8(s + j) >>> 6) << 4;
        }
        scale[j] = d * sc;
        min[j] = dmin * mn;
    }

    private static final VectorSpecies<Short> S = Q8Activations.S;
    private static final VectorSpecies<Float> F8 = Q8Activations.F8;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;

    @Override
    int lookupBits() {
        return 4;
    }

    /**
     * Where the table lookup does not run ({@link GgmlBlockMatrix#matmul}): integer products on q8
     * activations ({@link Q8Activations}), as llama.cpp's vec_dot_q4_K_q8_K: the input is quantized once per
     * product, each row meets it in 16-bit multiply-adds. Measured 2.0x the float kernel ({@link #matmulDequantized},
     * kept as the tests' reference), 2048x2048, one thread; the lookup 2.1x this kernel at 4096x11008
     * (bench/results/gguf-lut-2026-12-03.md).
     */
    @Override
    void matmulOffLookup(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        Q8Activations[] in = new Q8Activations[n];
        for (int b = 0; b < n; b++) {
            in[b] = Q8Activations.of(x, b * cols, cols);
        }
        float[][] stepSums = new float[n][8 * blocks];
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < 8 * blocks; k++) {
                stepSums[b][k] = in[b].d[k] * in[b].sum[k];
            }
        }
        float[] sd = new float[8 * blocks];
        for (int t = rowStart; t < rowEnd; t += Q8Activations.TILE_ROWS) {
            int end = Math.min(rowEnd, t + Q8Activations.TILE_ROWS);
            for (int b = 0; b < n; b++) {
                rows(in[b], stepSums[b], y, b * rows, t, end, sd);
            }
        }
    }

    /** The 16 short lanes summed pairwise into 8 ints, as floats: exact (each lane is at most 2·15·127). */
    private static FloatVector ints(ShortVector p) {
        IntVector a = (IntVector) p.convert(VectorOperators.S2I, 0), b = (IntVector) p.convert(VectorOperators.S2I, 1);
        return (FloatVector) a.add(b).convert(VectorOperators.I2F, 0);
    }

    /**
     * For row {@code r}, {@code sd[k] = d·scale_k·step_k} for every sub-block {@code k} of 32 (its input block's
     * step), and the minimums' term {@code Σ dmin·min_k·step_k·Σq_k} ({@code stepSum[k] = step_k·Σq_k}): per block,
     * eight lanes, one per sub-block, from {@link #scaleMins}.
     */
    private float scales(int r, Q8Activations in, float[] stepSum, float[] sd, byte[] scaleMins) {
        float[] dx = in.d;
        FloatVector mins = FloatVector.zero(F8);
        int at = 16 * r * blocks;
        for (int blk = 0; blk < blocks; blk++) {
            long o = r * rowBytes + 144L * blk;
            float d = half(o), dmin = half(o + 2);
            FloatVector sc = (FloatVector) ((IntVector) ByteVector.fromArray(B8, scaleMins, at + 16 * blk).convertShape(VectorOperators.B2I, I8, 0)).convert(VectorOperators.I2F, 0);
            FloatVector mn = (FloatVector) ((IntVector) ByteVector.fromArray(B8, scaleMins, at + 16 * blk + 8).convertShape(VectorOperators.B2I, I8, 0)).convert(VectorOperators.I2F, 0);
            sc.mul(d).mul(FloatVector.fromArray(F8, dx, 8 * blk)).intoArray(sd, 8 * blk);
            mins = mn.mul(dmin).fma(FloatVector.fromArray(F8, stepSum, 8 * blk), mins);
        }
        return mins.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@code y[yOff + r] = Σ w·x̂} for rows {@code r0 ≤ r < r1}. The 32 nibble bytes of sub-blocks 2j and 2j+1
     * load as 16 short lanes, lane i holding bytes 2i and 2i+1, so its four nibbles are weights 2i and 2i+1 of
     * sub-block 2j (bits 0..3, 8..11) and of sub-block 2j+1 (bits 4..7, 12..15), which meet the even and odd
     * halves of the input's blocks ({@link Q8Activations}'s order). Two products of a code (≤ 15) and an input
     * integer (≤ 127) share a 16-bit lane. One sub-block per iteration (the 32 bytes are loaded twice, the
     * second time from L1): a loop body with both overran the JIT's inlining budget, which left the second
     * half's vector operations unintrinsified and boxed (measured: 4 MB allocated per 1024x2048 product and
     * slower than the float kernel; this loop is 2x faster than it).
     */
    private void rows(Q8Activations in, float[] stepSum, float[] y, int yOff, int r0, int r1, float[] sd) {
        short[] q = in.q;
        byte[] scaleMins = scaleMins();
        for (int r = r0; r < r1; r++) {
            float mins = scales(r, in, stepSum, sd, scaleMins);
            long base = r * rowBytes + 16;
            FloatVector acc = FloatVector.zero(F8);
            for (int k = 0; k < 8 * blocks; k++) {
                ShortVector v = ShortVector.fromMemorySegment(S, data, base + 144L * (k >>> 3) + 32 * ((k >>> 1) & 3), LE)
                        .lanewise(VectorOperators.LSHR, 4 * (k & 1));
                int xo = 32 * k;
                ShortVector p = v.and((short) 0xF).mul(ShortVector.fromArray(S, q, xo))
                        .add(v.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(ShortVector.fromArray(S, q, xo + 16)));
                acc = ints(p).fma(FloatVector.broadcast(F8, sd[k]), acc);
            }
            y[yOff + r] = acc.reduceLanes(VectorOperators.ADD) - mins;
        }
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o), dmin = half(o + 2);
        for (int j = 0; j < 8; j++) {
            scaleMin(this, o + 4, j, d, dmin, scale, min);
        }
        for (int j = 0; j < 4; j++) {
            for (int h = 0; h < 2; h++) {
                ByteVector q = load16(o + 16 + 32 * j + 16 * h);
                bits(q, 0, 0x0F).intoArray(codes, 64 * j + 16 * h);
                bits(q, 4, 0x0F).intoArray(codes, 64 * j + 32 + 16 * h);
            }
        }
    }
}

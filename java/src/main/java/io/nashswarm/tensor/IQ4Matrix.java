package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * GGML IQ4_NL and IQ4_XS: 4-bit indices into ggml's fixed non-uniform table {@link #VALUES}
 * ({@code kvalues_iq4nl}). IQ4_NL: blocks of 32 as Q4_0 (fp16 {@code d}, 16 bytes of nibbles),
 * {@code w = d·VALUES[q]}. IQ4_XS: super-blocks of 256 in 136 bytes: fp16 {@code d}, a uint16 of
 * high scale bits, 4 bytes of low scale nibbles, then per sub-block of 32 sixteen bytes of nibbles as
 * IQ4_NL; sub-block {@code i}'s 6-bit scale is nibble {@code i%2} of byte {@code i/2} plus bits
 * {@code 2i..2i+1} of the uint16 on top, and {@code w = d·(scale − 32)·VALUES[q]}.
 *
 * <p>With 512-bit vectors the products read the blocks as they are ({@link #dot}): the 16 table values as floats fill
 * one register, so one permute looks up 16 codes, as for NF4 ({@link PackedKernels#dotCodebook16}); the ggml order
 * (low nibbles the first 16 weights) needs no reordering of the input. Elsewhere rows are decoded to floats.
 */
final class IQ4Matrix extends GgmlBlockMatrix {
    static final byte[] VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final ByteVector TABLE = ByteVector.fromArray(B16, VALUES, 0);

    private final boolean xs;

    /** IQ4_XS when {@code xs}, else IQ4_NL. */
    IQ4Matrix(boolean xs, MemorySegment data, int rows, int cols) {
        super(xs ? QuantType.IQ4_XS : QuantType.IQ4_NL, data, rows, cols, 32);
        this.xs = xs;
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final float[] FLOAT_VALUES = new float[16];

    static {
        for (int i = 0; i < 16; i++) {
            FLOAT_VALUES[i] = VALUES[i];
        }
    }

    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        if (!PackedKernels.CODEBOOK_512) {
            super.matmul(x, y, n, rowStart, rowEnd);
            return;
        }
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        for (int r = rowStart; r < rowEnd; r++) {
            for (int b = 0; b < n; b++) { // the row's blocks from cache after the first input
                y[b * rows + r] = xs ? dotXs(data, r * rowBytes, blocks, x, b * cols) : dot(data, r * rowBytes, blocks, x, b * cols);
            }
        }
    }

    /**
     * IQ4_NL row · x: per block of 32, its 16 bytes widened to 16 ints, per nibble one permute of the table
     * ({@code vpermd}) and one multiply-add with 16 inputs, and the block's sum times its {@code d} into one of two
     * sums (alternating, so that neither waits on its own last FMA); 14% faster than scaling the looked-up values.
     */
    static float dot(MemorySegment data, long o, int blocks, float[] x, int xo) {
        IntVector table = FloatVector.fromArray(F, FLOAT_VALUES, 0).reinterpretAsInts();
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++, o += 18, xo += 32) {
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(F16, o)));
            IntVector v = (IntVector) ByteVector.fromMemorySegment(B16, data, o + 2, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            FloatVector p = v.and(0xF).selectFrom(table).reinterpretAsFloats().mul(FloatVector.fromArray(F, x, xo));
            p = v.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo + 16), p);
            if ((b & 1) == 0) {
                a0 = p.fma(d, a0);
            } else {
                a1 = p.fma(d, a1);
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** IQ4_XS row · x: as {@link #dot} per sub-block of 32, whose scale is {@code d·(ls − 32)} (exact in float). */
    static float dotXs(MemorySegment data, long o, int blocks, float[] x, int xo) {
        IntVector table = FloatVector.fromArray(F, FLOAT_VALUES, 0).reinterpretAsInts();
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++, o += 136) {
            float d = Float.float16ToFloat(data.get(F16, o));
            int high = data.get(F16, o + 2) & 0xFFFF, low = data.get(INT, o + 4);
            for (int i = 0; i < 8; i++, xo += 32) {
                int ls = (low >>> (4 * i) & 0x0F) | (high >>> (2 * i) & 3) << 4;
                FloatVector s = FloatVector.broadcast(F, d * (ls - 32));
                IntVector v = (IntVector) ByteVector.fromMemorySegment(B16, data, o + 8 + 16L * i, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                // the scale on the looked-up values (two multiplies): as in dot, the sum of a sub-block times its scale, ran 8% slower here
                a0 = v.and(0xF).selectFrom(table).reinterpretAsFloats().mul(s).fma(FloatVector.fromArray(F, x, xo), a0);
                a1 = v.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats().mul(s).fma(FloatVector.fromArray(F, x, xo + 16), a1);
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** The 32 weights of the 16 bytes at {@code q}: low nibbles first, then high nibbles, through the table. */
    private void nibbles(long q, byte[] codes, int at) {
        ByteVector v = load16(q);
        bits(v, 0, 0x0F).selectFrom(TABLE).intoArray(codes, at);
        bits(v, 4, 0x0F).selectFrom(TABLE).intoArray(codes, at + 16);
    }

    @Override
    void decodeBlock(long o, byte[] codes, float[] scale, float[] min) {
        float d = half(o);
        if (!xs) {
            nibbles(o + 2, codes, 0);
            scale[0] = d;
            min[0] = 0f;
            return;
        }
        int high = data.get(F16, o + 2) & 0xFFFF;
        for (int i = 0; i < 8; i++) {
            int ls = ((u8(o + 4 + i / 2) >>> (4 * (i % 2))) & 0x0F) | ((high >>> (2 * i)) & 3) << 4;
            scale[i] = d * (ls - 32);
            min[i] = 0f;
            nibbles(o + 8 + 16L * i, codes, 32 * i);
        }
    }
}

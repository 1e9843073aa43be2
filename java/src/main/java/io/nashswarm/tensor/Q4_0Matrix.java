package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

import static io.nashswarm.kernel.Vectors.B;
import static io.nashswarm.kernel.Vectors.BYTE_PARTS;
import static io.nashswarm.kernel.Vectors.F;
import static io.nashswarm.kernel.Vectors.I;
import static io.nashswarm.kernel.Vectors.L;

/**
 * GGML Q4_0: blocks of 32 weights, an fp16 scale {@code d} then 16 bytes; byte {@code j} holds weight
 * {@code j} in its low nibble and weight {@code j+16} in its high nibble; {@code w = d·(q - 8)}.
 */
public final class Q4_0Matrix extends BlockMatrix {
    static final int BYTES = 18;
    private static final int HALF = BLOCK / 2;

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BYTES);
    }

    @Override public QuantType type() { return QuantType.Q4_0; }

    // Nibbles are split in int lanes (bytes sign-extend on widening; masking after the shift undoes
    // that), so lanes j and j+16 of a block come from the same load.

    private static FloatVector low(IntVector q) {
        return (FloatVector) q.and(0x0F).sub(8).castShape(F, 0);
    }

    private static FloatVector high(IntVector q) {
        return (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8).castShape(F, 0);
    }

    @Override
    float dot(long base, float[] x, int x0) {
        FloatVector acc = FloatVector.zero(F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            int xb = x0 + blk * BLOCK;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < HALF; j += B.length()) {
                ByteVector packed = Vectors.bytes(data, o + 2 + j);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    IntVector q = (IntVector) packed.castShape(I, p);
                    int xo = xb + j + p * L;
                    s = low(q).fma(FloatVector.fromArray(F, x, xo), s);
                    s = high(q).fma(FloatVector.fromArray(F, x, xo + HALF), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, scale(o)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    void dot4(long base, float[] x, int x0, int xs, float[] y, int y0, int ys) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            int xb = x0 + blk * BLOCK;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int j = 0; j < HALF; j += B.length()) {
                ByteVector packed = Vectors.bytes(data, o + 2 + j);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    IntVector q = (IntVector) packed.castShape(I, p);
                    FloatVector lo = low(q), hi = high(q);
                    int xo = xb + j + p * L;
                    s0 = hi.fma(FloatVector.fromArray(F, x, xo + HALF), lo.fma(FloatVector.fromArray(F, x, xo), s0));
                    s1 = hi.fma(FloatVector.fromArray(F, x, xo + xs + HALF), lo.fma(FloatVector.fromArray(F, x, xo + xs), s1));
                    s2 = hi.fma(FloatVector.fromArray(F, x, xo + 2 * xs + HALF), lo.fma(FloatVector.fromArray(F, x, xo + 2 * xs), s2));
                    s3 = hi.fma(FloatVector.fromArray(F, x, xo + 3 * xs + HALF), lo.fma(FloatVector.fromArray(F, x, xo + 3 * xs), s3));
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(o));
            acc0 = s0.fma(d, acc0);
            acc1 = s1.fma(d, acc1);
            acc2 = s2.fma(d, acc2);
            acc3 = s3.fma(d, acc3);
        }
        y[y0] = acc0.reduceLanes(VectorOperators.ADD);
        y[y0 + ys] = acc1.reduceLanes(VectorOperators.ADD);
        y[y0 + 2 * ys] = acc2.reduceLanes(VectorOperators.ADD);
        y[y0 + 3 * ys] = acc3.reduceLanes(VectorOperators.ADD);
    }

    @Override
    int lookupBits() {
        return 4;
    }

    @Override
    void lookupRow(int r, int[] codes, short[] scales) {
        long base = r * rowBytes;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            scales[blk] = data.get(F16, o);
            for (int j = 0; j < HALF; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                codes[blk * BLOCK + j] = q & 0x0F;
                codes[blk * BLOCK + j + HALF] = q >>> 4;
            }
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, out.length);
        long base = r * rowBytes;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            float d = scale(o);
            for (int j = 0; j < HALF; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                out[off + blk * BLOCK + j] = d * ((q & 0x0F) - 8);
                out[off + blk * BLOCK + j + HALF] = d * ((q >>> 4) - 8);
            }
        }
    }
}

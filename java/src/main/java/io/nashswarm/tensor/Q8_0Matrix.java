package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

import static io.nashswarm.kernel.Vectors.B;
import static io.nashswarm.kernel.Vectors.BYTE_PARTS;
import static io.nashswarm.kernel.Vectors.F;
import static io.nashswarm.kernel.Vectors.L;

/**
 * GGML Q8_0: blocks of 32 weights, each an fp16 scale {@code d} followed by 32 int8 {@code q};
 * {@code w = d·q}. Rows are whole blocks (cols % 32 == 0).
 *
 * <p>No table-lookup path: 8-bit codes cost 8 lookups per 4 columns, and at 4096x11008 on one thread the
 * lookup took 5.55 ms per product against this float kernel's 4.13 (bench/results/gguf-lut-2026-12-03.md).
 */
public final class Q8_0Matrix extends BlockMatrix {
    static final int BYTES = 34;

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BYTES);
    }

    @Override public QuantType type() { return QuantType.Q8_0; }

    // Per block: sum q·x over the 32 lanes in float, then scale once; the quants of a B-sized load
    // feed BYTE_PARTS float vectors.

    @Override
    float dot(long base, float[] x, int x0) {
        FloatVector acc = FloatVector.zero(F);
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            int xb = x0 + blk * BLOCK;
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += B.length()) {
                ByteVector q = Vectors.bytes(data, o + 2 + j);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    s = Vectors.int8(q, p).fma(FloatVector.fromArray(F, x, xb + j + p * L), s);
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
            for (int j = 0; j < BLOCK; j += B.length()) {
                ByteVector q = Vectors.bytes(data, o + 2 + j);
                for (int p = 0; p < BYTE_PARTS; p++) {
                    FloatVector w = Vectors.int8(q, p);
                    int xo = xb + j + p * L;
                    s0 = w.fma(FloatVector.fromArray(F, x, xo), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, xo + xs), s1);
                    s2 = w.fma(FloatVector.fromArray(F, x, xo + 2 * xs), s2);
                    s3 = w.fma(FloatVector.fromArray(F, x, xo + 3 * xs), s3);
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
    boolean byteRows() {
        return true;
    }

    @Override
    void byteRow(int r, byte[] codes, short[] scales) {
        long base = r * rowBytes;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            scales[blk] = data.get(F16, o);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o + 2, codes, blk * BLOCK, BLOCK);
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
            for (int i = 0; i < BLOCK; i++) {
                out[off + blk * BLOCK + i] = d * data.get(ValueLayout.JAVA_BYTE, o + 2 + i);
            }
        }
    }
}

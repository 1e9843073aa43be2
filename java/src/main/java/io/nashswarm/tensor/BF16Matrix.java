package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.nashswarm.kernel.Vectors.F;
import static io.nashswarm.kernel.Vectors.L;

/** Dense bfloat16 (the top half of a float32) little-endian weights. */
public final class BF16Matrix extends DenseMatrix {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public BF16Matrix(MemorySegment data, int rows, int cols, Layout layout) {
        super(data, rows, cols, layout);
    }

    @Override public QuantType type() { return QuantType.BF16; }

    @Override
    float get(long i) {
        return Float.intBitsToFloat(data.getAtIndex(LE, i) << 16);
    }

    @Override
    void chunk(int r, int count, int c0, int len, float[] out) {
        chunkOfHalves(r, count, c0, len, out, LE, true);
    }

    /** {@link Vectors#L} weights from element {@code i} on, widened to floats. */
    private FloatVector load(long i) {
        return Vectors.bf16(data, i * Short.BYTES);
    }

    // Same kernels as F32Matrix but for load() and get(); see the note there.

    @Override
    float dot(long w, int len, float[] x, int x0) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j <= len - 4 * L; j += 4 * L) {
            a0 = load(w + j).fma(FloatVector.fromArray(F, x, x0 + j), a0);
            a1 = load(w + j + L).fma(FloatVector.fromArray(F, x, x0 + j + L), a1);
            a2 = load(w + j + 2 * L).fma(FloatVector.fromArray(F, x, x0 + j + 2 * L), a2);
            a3 = load(w + j + 3 * L).fma(FloatVector.fromArray(F, x, x0 + j + 3 * L), a3);
        }
        for (; j <= len - L; j += L) {
            a0 = load(w + j).fma(FloatVector.fromArray(F, x, x0 + j), a0);
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; j < len; j++) {
            s += get(w + j) * x[x0 + j];
        }
        return s;
    }

    /** Two rows side by side, as {@link F32Matrix}'s dot2 (which says why). */
    @Override
    void dot2(long w, int len, float[] x, int x0, float[] y, int y0) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        long u = w + len;
        int j = 0;
        for (; j <= len - 2 * L; j += 2 * L) {
            FloatVector x0v = FloatVector.fromArray(F, x, x0 + j), x1v = FloatVector.fromArray(F, x, x0 + j + L);
            a0 = load(w + j).fma(x0v, a0);
            a1 = load(w + j + L).fma(x1v, a1);
            b0 = load(u + j).fma(x0v, b0);
            b1 = load(u + j + L).fma(x1v, b1);
        }
        for (; j <= len - L; j += L) {
            FloatVector xv = FloatVector.fromArray(F, x, x0 + j);
            a0 = load(w + j).fma(xv, a0);
            b0 = load(u + j).fma(xv, b0);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD), t = b0.add(b1).reduceLanes(VectorOperators.ADD);
        for (; j < len; j++) {
            s += get(w + j) * x[x0 + j];
            t += get(u + j) * x[x0 + j];
        }
        y[y0] = s;
        y[y0 + 1] = t;
    }

    @Override
    void dot4(long w, int len, float[] x, int x0, int xs, float[] y, int y0, int ys) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector v = load(w + j);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + j), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x0 + xs + j), a1);
            a2 = v.fma(FloatVector.fromArray(F, x, x0 + 2 * xs + j), a2);
            a3 = v.fma(FloatVector.fromArray(F, x, x0 + 3 * xs + j), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; j < len; j++) {
            float v = get(w + j);
            s0 += v * x[x0 + j];
            s1 += v * x[x0 + xs + j];
            s2 += v * x[x0 + 2 * xs + j];
            s3 += v * x[x0 + 3 * xs + j];
        }
        y[y0] = s0;
        y[y0 + ys] = s1;
        y[y0 + 2 * ys] = s2;
        y[y0 + 3 * ys] = s3;
    }
}

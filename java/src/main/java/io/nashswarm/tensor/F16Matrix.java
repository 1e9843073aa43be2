package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.nashswarm.kernel.Vectors.F;
import static io.nashswarm.kernel.Vectors.L;

/** Dense IEEE binary16 little-endian weights. */
public final class F16Matrix extends DenseMatrix {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public F16Matrix(MemorySegment data, int rows, int cols, Layout layout) {
        super(data, rows, cols, layout);
    }

    @Override public QuantType type() { return QuantType.F16; }

    @Override
    float get(long i) {
        return Float.float16ToFloat(data.getAtIndex(LE, i));
    }

    @Override
    void chunk(int r, int count, int c0, int len, float[] out) {
        chunkOfHalves(r, count, c0, len, out, LE, false);
    }

    /** {@link Vectors#L} weights from element {@code i} on, widened to floats. */
    private FloatVector load(long i) {
        return Vectors.f16(data, i * Short.BYTES);
    }

    // Same kernels as F32Matrix but for load() and get() (and one accumulator per row in dot and dot2); see the note there.

    @Override
    float dot(long w, int len, float[] x, int x0) {
        // One load per iteration: the f16 widening is large in the JIT's eyes, and unrolling it by
        // hand exhausts C2's inlining budget (the vectors then get boxed, 3x slower). C2 unrolls this
        // loop itself, and the widening, not the FMA latency, bounds its speed.
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j <= len - L; j += L) {
            acc = load(w + j).fma(FloatVector.fromArray(F, x, x0 + j), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; j < len; j++) {
            s += get(w + j) * x[x0 + j];
        }
        return s;
    }

    /** Two rows side by side, one load of each per step (see {@link #dot} on unrolling), as {@link F32Matrix}'s dot2. */
    @Override
    void dot2(long w, int len, float[] x, int x0, float[] y, int y0) {
        FloatVector a = FloatVector.zero(F), b = a;
        long u = w + len;
        int j = 0;
        for (; j <= len - L; j += L) {
            FloatVector xv = FloatVector.fromArray(F, x, x0 + j);
            a = load(w + j).fma(xv, a);
            b = load(u + j).fma(xv, b);
        }
        float s = a.reduceLanes(VectorOperators.ADD), t = b.reduceLanes(VectorOperators.ADD);
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

package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.nashswarm.kernel.Vectors.F;
import static io.nashswarm.kernel.Vectors.L;

/** Dense IEEE float32 little-endian weights. */
public final class F32Matrix extends DenseMatrix {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public F32Matrix(MemorySegment data, int rows, int cols, Layout layout) {
        super(data, rows, cols, layout);
    }

    @Override public QuantType type() { return QuantType.F32; }

    @Override
    float get(long i) {
        return data.getAtIndex(LE, i);
    }

    @Override
    void chunk(int r, int count, int c0, int len, float[] out) {
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(data, LE, ((long) (r + i) * cols + c0) * Float.BYTES, out, i * len, len);
        }
    }

    /** {@link Vectors#L} weights from element {@code i} on. */
    private FloatVector load(long i) {
        return Vectors.f32(data, i * Float.BYTES);
    }

    // The kernels below are the same in F16Matrix and BF16Matrix but for load() and get():
    // each class keeps its own copy so the JIT sees one receiver type and inlines the loads.

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

    /**
     * Two rows side by side, two accumulators each. Why: on a Zen 5 host (2 threads, from DRAM) one row at a time
     * streamed 25-30 GB/s at 768 columns and 42-58 at 2048-8192, two rows 33-38 and 60-74; stories110M F32 decoded 1.3-1.6x
     * faster (bench/results/f32-two-rows-2026-12-04.md).
     */
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

    /**
     * Four rows side by side, two accumulators each. Why: at 768 columns (stories110M) two rows still streamed only 38
     * GB/s from DRAM on 2 threads (the 32000x768 head, best 2.65-2.76 ms; 59-63 GB/s at 2048 columns); four rows 2.20 ms
     * (bench/results/grouped-products-2026-12-04.md).
     */
    @Override
    void dot4rows(long w, int len, float[] x, int x0, float[] y, int y0) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        long u = w + len, v = u + len, t = v + len;
        int j = 0;
        for (; j <= len - 2 * L; j += 2 * L) {
            FloatVector x0v = FloatVector.fromArray(F, x, x0 + j), x1v = FloatVector.fromArray(F, x, x0 + j + L);
            a0 = load(w + j).fma(x0v, a0);
            a1 = load(w + j + L).fma(x1v, a1);
            b0 = load(u + j).fma(x0v, b0);
            b1 = load(u + j + L).fma(x1v, b1);
            c0 = load(v + j).fma(x0v, c0);
            c1 = load(v + j + L).fma(x1v, c1);
            d0 = load(t + j).fma(x0v, d0);
            d1 = load(t + j + L).fma(x1v, d1);
        }
        for (; j <= len - L; j += L) {
            FloatVector xv = FloatVector.fromArray(F, x, x0 + j);
            a0 = load(w + j).fma(xv, a0);
            b0 = load(u + j).fma(xv, b0);
            c0 = load(v + j).fma(xv, c0);
            d0 = load(t + j).fma(xv, d0);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD), q = b0.add(b1).reduceLanes(VectorOperators.ADD);
        float r = c0.add(c1).reduceLanes(VectorOperators.ADD), z = d0.add(d1).reduceLanes(VectorOperators.ADD);
        for (; j < len; j++) {
            float xj = x[x0 + j];
            s += get(w + j) * xj;
            q += get(u + j) * xj;
            r += get(v + j) * xj;
            z += get(t + j) * xj;
        }
        y[y0] = s;
        y[y0 + 1] = q;
        y[y0 + 2] = r;
        y[y0 + 3] = z;
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

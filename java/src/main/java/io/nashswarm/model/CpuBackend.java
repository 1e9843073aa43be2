package io.nashswarm.model;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.tensor.ParallelProducts;
import io.nashswarm.tensor.WeightMatrix;

import java.util.List;

/** The forward pass on this machine's cores: heap arrays, the Vector API kernels, the worker pool. */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {}

    /** A buffer that is a float array. */
    record Floats(float[] a) implements Buffer {
        @Override
        public int length() {
            return a.length;
        }
    }

    private record Mapped(WeightMatrix source) implements Matrix {}

    private static float[] a(Buffer b) {
        return ((Floats) b).a;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Buffer allocate(int n) {
        return new Floats(new float[n]);
    }

    @Override
    public Buffer upload(float[] values) {
        return new Floats(values);
    }

    @Override
    public Matrix upload(WeightMatrix w) {
        return new Mapped(w);
    }

    /**
     * Makes every matrix's repacked copy now, a whole matrix per task on every thread: made at its first product instead,
     * one thread copies while the others wait (llama-1b int4's first token took about 4.3 s, most of it copies).
     */
    @Override
    public void prepare(List<WeightMatrix> products) {
        Parallel.forEachTask(products.size(), i -> products.get(i).prepare());
    }

    @Override
    public float[] read(Buffer b, int n) {
        return a(b);
    }

    @Override
    public KvCache kvCache(ModelConfig c, int capacity, int maxBatch) {
        return new HeapKvCache(c, capacity, maxBatch);
    }

    @Override
    public void matmul(Matrix w, Buffer x, Buffer y, int n) {
        ParallelProducts.matmul(w.source(), a(x), a(y), n);
    }

    @Override
    public void matmul(Matrix[] ws, Buffer x, Buffer[] ys, int n) {
        WeightMatrix[] sources = new WeightMatrix[ws.length];
        float[][] outs = new float[ys.length][];
        for (int j = 0; j < ws.length; j++) {
            sources[j] = ws[j].source();
            outs[j] = a(ys[j]);
        }
        ParallelProducts.matmul(sources, a(x), outs, n);
    }

    /** Each thread adds the bias and the rows it computed, while they are in its cache. */
    @Override
    public void matmulAdd(Matrix w, Buffer bias, Buffer x, Buffer y, Buffer scratch, int n) {
        float[] sum = a(y), t = a(scratch), bs = bias == null ? null : a(bias);
        int rows = w.source().rows();
        ParallelProducts.matmul(new WeightMatrix[] {w.source()}, a(x), new float[][] {t}, n, (s, e) -> {
            for (int b = 0; b < n; b++) {
                if (bs != null) {
                    Ops.add(t, b * rows + s, bs, s, e - s);
                }
                Ops.add(sum, b * rows + s, t, b * rows + s, e - s);
            }
        });
    }

    /** Each thread adds the bias to the rows it computed and applies GELU to them (GPT-2's MLP), while they are in its cache. */
    @Override
    public void matmulGelu(Matrix w, Buffer bias, Buffer x, Buffer y, int n) {
        float[] ys = a(y), bs = a(bias);
        int rows = w.source().rows();
        ParallelProducts.matmul(new WeightMatrix[] {w.source()}, a(x), new float[][] {ys}, n, (s, e) -> {
            for (int b = 0; b < n; b++) {
                Ops.add(ys, b * rows + s, bs, s, e - s);
                Ops.geluTanh(ys, b * rows + s, e - s);
            }
        });
    }

    /** Each thread applies SwiGLU to the rows of gate and up it computed. */
    @Override
    public void matmulSwiglu(Matrix gate, Matrix up, Buffer x, Buffer g, Buffer u, int n) {
        float[] gs = a(g), us = a(u);
        int rows = gate.source().rows();
        ParallelProducts.matmul(new WeightMatrix[] {gate.source(), up.source()}, a(x), new float[][] {gs, us}, n, (s, e) -> {
            for (int b = 0; b < n; b++) {
                Ops.swiglu(gs, us, b * rows + s, e - s);
            }
        });
    }

    @Override
    public void embed(Matrix table, int row, Buffer out, int off) {
        table.source().dequantizeRow(row, a(out), off);
    }

    @Override
    public void rmsnorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, int rows, int n, float eps) {
        float[] o = a(out), xs = a(x), ws = a(w);
        for (int i = 0; i < rows; i++) {
            Ops.rmsnorm(o, oOff + i * n, xs, xOff + i * n, ws, n, eps);
        }
    }

    @Override
    public void layernorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, Buffer b, int rows, int n, float eps) {
        float[] o = a(out), xs = a(x), ws = a(w), bs = a(b);
        for (int i = 0; i < rows; i++) {
            Ops.layernorm(o, oOff + i * n, xs, xOff + i * n, ws, bs, n, eps);
        }
    }

    @Override
    public void rope(Buffer v, int rows, int heads, int headSize, int pos, RopeStyle style, Buffer cos, Buffer sin) {
        float[] vs = a(v), c = a(cos), s = a(sin);
        for (int i = 0; i < rows; i++) {
            Ops.rope(vs, i * heads * headSize, heads, headSize, pos + i, style, c, s);
        }
    }

    @Override
    public void add(Buffer y, int yOff, Buffer x, int xOff, int n) {
        Ops.add(a(y), yOff, a(x), xOff, n);
    }

    @Override
    public void addBias(Buffer x, Buffer bias, int rows, int n) {
        Ops.addBias(a(x), a(bias), rows, n);
    }

    @Override
    public void copy(Buffer src, int sOff, Buffer dst, int dOff, int n) {
        System.arraycopy(a(src), sOff, a(dst), dOff, n);
    }

    @Override
    public void geluTanh(Buffer x, int n) {
        Ops.geluTanh(a(x), 0, n);
    }

    @Override
    public void swiglu(Buffer g, Buffer u, int n) {
        Ops.swiglu(a(g), a(u), 0, n);
    }

    /**
     * keys[layer][(kvHead·capacity + pos)·headSize + i] (values likewise): each head's positions side by side, so that a
     * head's attention streams its keys and values in one run; and one score row per (batch row, head).
     */
    private static final class HeapKvCache implements KvCache {
        private final int capacity, hs, nh, nKv, kvDim, dim, group;
        private final float scale;
        private final float[][] keys, values;
        private final float[] scores;

        HeapKvCache(ModelConfig c, int capacity, int maxBatch) {
            this.capacity = capacity;
            hs = c.headSize();
            nh = c.nHeads();
            nKv = c.nKvHeads();
            kvDim = c.kvDim();
            dim = c.dim();
            group = nh / nKv;
            scale = (float) (1.0 / Math.sqrt(hs));
            keys = new float[c.nLayers()][(int) Math.min(Integer.MAX_VALUE - 8, (long) capacity * kvDim)];
            values = new float[c.nLayers()][keys[0].length];
            scores = new float[maxBatch * nh * capacity];
        }

        @Override
        public void store(int layer, Buffer k, Buffer v, int b, int pos) {
            float[] ks = a(k), vs = a(v);
            for (int i = 0; i < b; i++) {
                for (int h = 0; h < nKv; h++) {
                    int at = (h * capacity + pos + i) * hs;
                    System.arraycopy(ks, i * kvDim + h * hs, keys[layer], at, hs);
                    System.arraycopy(vs, i * kvDim + h * hs, values[layer], at, hs);
                }
            }
        }

        @Override
        public void attend(int layer, Buffer qBuf, Buffer outBuf, int b, int pos) {
            float[] q = a(qBuf), att = a(outBuf), ks = keys[layer], vs = values[layer];
            Parallel.forRange(b * nh, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    int i = t / nh, h = t % nh;
                    int n = pos + i + 1; // positions 0..pos+i
                    int head = i * dim + h * hs, kv = (h / group) * capacity * hs, sc = t * capacity;
                    Ops.scores(q, head, ks, kv, hs, n, scale, scores, sc);
                    Ops.softmax(scores, sc, n);
                    Ops.mix(scores, sc, n, vs, kv, hs, att, head);
                }
            });
        }

        @Override
        public long bytes() {
            return 2L * keys.length * keys[0].length * Float.BYTES;
        }
    }
}

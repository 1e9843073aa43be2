package io.nashswarm.model;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.kernel.Vectors;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.ParallelProducts;
import io.nashswarm.tensor.WeightMatrix;

import java.util.List;

/** The forward pass on this machine's cores: heap arrays, the Vector API kernels, the worker pool. */
public final class CpuBackend implements Backend {
    /** The CPU backend with an f32 KV cache. */
    public static final CpuBackend INSTANCE = new CpuBackend(false);
    /** The CPU backend with an f16 KV cache (llama.cpp's default): half the cache's bytes, which long contexts stream per token. */
    public static final CpuBackend HALF_KV = new CpuBackend(true);

    private final boolean halfKv;

    private CpuBackend(boolean halfKv) {
        this.halfKv = halfKv;
    }

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
        long tiled = products.stream().filter(w -> w instanceof MixedGroupMatrix m && m.widthsChangeDownColumns()).count();
        if (tiled > 0) { // said once per model: such a file runs, but slower per bit than one whose widths are chosen per column
            System.err.printf("note: %d mixed-width matrices change their widths down a column group (Nash-Swarm's maps; target-bpw's"
                    + " on rows of fewer than 8 groups), so they run on 16-row tiles at 1.5-2.4x the time per weight of widths chosen per"
                    + " group column%n", tiled);
        }
    }

    @Override
    public float[] read(Buffer b, int n) {
        return a(b);
    }

    @Override
    public KvCache kvCache(ModelConfig c, int capacity, int maxBatch) {
        return new HeapKvCache(c, capacity, maxBatch, halfKv);
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

    /**
     * At batch 1, one job: each thread computes its part of q, k and v, which holds whole groups of heads, rotates and
     * stores them and attends its heads, all from its own cache; against the three steps apart, that saves a job per
     * layer and runs RoPE and the cache stores in parallel. The parts are cut at units of {@code u} KV heads (with
     * their q heads), u the fewest whose rows are a multiple of {@link Parallel#ROW_ALIGN}. A batch (prefill, perplexity)
     * takes its products first, then one job in which each thread rotates, stores and attends its KV heads' rows.
     */
    @Override
    public void attention(Matrix[] qkv, Buffer x, InferenceState s, int layer, int b, int pos, RopeStyle style, Buffer cos, Buffer sin) {
        HeapKvCache cache = (HeapKvCache) s.cache;
        float[] q = a(s.q), k = a(s.k), v = a(s.v), att = a(s.att), c = a(cos), sn = a(sin);
        int hs = cache.hs, kvHeads = cache.nKv, group = cache.group;
        if (b != 1) {
            matmul(qkv, x, s.qkv, b);
            Parallel.forRange(kvHeads, 1, (k0, k1) -> attendKvHeads(cache, layer, b, pos, k0, k1, q, k, v, att, style, c, sn));
            return;
        }
        int u = Parallel.ROW_ALIGN / gcd(hs, Parallel.ROW_ALIGN), units = (kvHeads + u - 1) / u;
        WeightMatrix[] ws = {qkv[0].source(), qkv[1].source(), qkv[2].source()};
        ParallelProducts.matmul(ws, a(x), new float[][] {q, k, v}, new int[] {u * group * hs, u * hs, u * hs}, (split, part) -> {
            int k0 = Math.min(kvHeads, split.start(units, 1, part) * u), k1 = Math.min(kvHeads, split.start(units, 1, part + 1) * u);
            attendKvHeads(cache, layer, 1, pos, k0, k1, q, k, v, att, style, c, sn);
        });
    }

    /** LLaMA's KV heads [k0, k1) and their q heads, batch rows 0..b at positions pos..: RoPE, cache stores, then attention. */
    private static void attendKvHeads(HeapKvCache cache, int layer, int b, int pos, int k0, int k1, float[] q, float[] k, float[] v,
                                      float[] att, RopeStyle style, float[] cos, float[] sin) {
        int hs = cache.hs, group = cache.group;
        for (int i = 0; i < b; i++) {
            Ops.rope(q, i * cache.dim + k0 * group * hs, (k1 - k0) * group, hs, pos + i, style, cos, sin);
            Ops.rope(k, i * cache.kvDim + k0 * hs, k1 - k0, hs, pos + i, style, cos, sin);
            cache.store(layer, k, i * cache.kvDim, v, i * cache.kvDim, pos + i, k0, k1);
        }
        cache.attend(layer, q, 0, cache.dim, att, b, pos, k0 * group, k1 * group);
    }

    /**
     * GPT-2 (a KV head per head) in two jobs: the fused projection, each thread adding the bias to the rows it computed
     * (at batch 1; a batch's bias is added after its products); then each thread stores the keys and values of its heads,
     * for every row of the batch, straight from the projection's output and attends them. Against the bias, the copies
     * and the cache stores on the calling thread between the two (4% of a GPT-2 124M decode token), the stores' scattered
     * key lines now land in the cache of the thread that reads them next.
     */
    @Override
    public void attention(Matrix qkv, Buffer bias, Buffer x, Buffer qkvOut, InferenceState s, int layer, int b, int pos) {
        HeapKvCache cache = (HeapKvCache) s.cache;
        if (cache.nKv != cache.nh) {
            Backend.super.attention(qkv, bias, x, qkvOut, s, layer, b, pos);
            return;
        }
        float[] y = a(qkvOut), bs = a(bias), att = a(s.att);
        int dim = cache.dim, width = 3 * dim;
        ParallelProducts.matmul(new WeightMatrix[] {qkv.source()}, a(x), new float[][] {y}, b, (r0, r1) -> {
            for (int i = 0; i < b; i++) {
                Ops.add(y, i * width + r0, bs, r0, r1 - r0);
            }
        });
        Parallel.forRange(cache.nh, 1, (h0, h1) -> {
            for (int i = 0; i < b; i++) {
                cache.store(layer, y, i * width + dim, y, i * width + 2 * dim, pos + i, h0, h1);
            }
            cache.attend(layer, y, 0, width, att, b, pos, h0, h1);
        });
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
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
     * Each KV head's positions side by side, so that a head's attention streams its keys and values in one run: values as
     * values[layer][(kvHead·capacity + pos)·headSize + i], keys transposed in tiles of {@link Ops#KEY_TILE} positions,
     * keys[layer][kvHead·tiled·headSize + (pos/T)·T·headSize + i·T + pos%T] (T = KEY_TILE, tiled = capacity rounded up to
     * T), so that a tile's scores are FMAs across positions with no reductions ({@link Ops#scores}); and one score row per
     * (batch row, head).
     */
    private static final class HeapKvCache implements KvCache {
        private final int capacity, tiled, hs, nh, nKv, kvDim, dim, group;
        private final float scale;
        /** f32 keys and values, or null where the cache keeps IEEE halves ({@code halfKeys}, {@code halfValues}) instead. */
        private final float[][] keys, values;
        private final short[][] halfKeys, halfValues;
        private final float[] scores;

        HeapKvCache(ModelConfig c, int capacity, int maxBatch, boolean half) {
            this.capacity = capacity;
            hs = c.headSize();
            nh = c.nHeads();
            nKv = c.nKvHeads();
            kvDim = c.kvDim();
            dim = c.dim();
            group = nh / nKv;
            scale = (float) (1.0 / Math.sqrt(hs));
            tiled = (capacity + Ops.KEY_TILE - 1) / Ops.KEY_TILE * Ops.KEY_TILE;
            int keyLength = (int) Math.min(Integer.MAX_VALUE - 8, (long) tiled * kvDim);
            int valueLength = (int) Math.min(Integer.MAX_VALUE - 8, (long) capacity * kvDim);
            keys = half ? null : new float[c.nLayers()][keyLength];
            values = half ? null : new float[c.nLayers()][valueLength];
            halfKeys = half ? new short[c.nLayers()][keyLength] : null;
            halfValues = half ? new short[c.nLayers()][valueLength] : null;
            scores = new float[maxBatch * nh * capacity];
        }

        @Override
        public void store(int layer, Buffer k, Buffer v, int b, int pos) {
            for (int i = 0; i < b; i++) {
                store(layer, a(k), i * kvDim, a(v), i * kvDim, pos + i, 0, nKv);
            }
        }

        /** The keys at {@code ks[kOff..]} and values at {@code vs[vOff..]} (kvDim each) of KV heads [kv0, kv1), at position p. */
        void store(int layer, float[] ks, int kOff, float[] vs, int vOff, int p, int kv0, int kv1) {
            int t = Ops.KEY_TILE;
            for (int h = kv0; h < kv1; h++) {
                int ksrc = kOff + h * hs, vsrc = vOff + h * hs, at = keyOffset(h) + p / t * t * hs + p % t, vat = valueOffset(h) + p * hs;
                if (halfKeys != null) {
                    if (!Ops.fitHalves(ks, ksrc, hs) || !Ops.fitHalves(vs, vsrc, hs)) {
                        refuse(ks, ksrc, vs, vsrc, layer, p);
                    }
                    short[] kc = halfKeys[layer], kh = KEY_HALVES.get();
                    if (kh.length < hs) {
                        KEY_HALVES.set(kh = new short[hs]);
                    }
                    Ops.toHalves(vs, vsrc, halfValues[layer], vat, hs);
                    Ops.toHalves(ks, ksrc, kh, 0, hs); // converted in vectors, then scattered into the key tile
                    for (int d = 0; d < hs; d++) {
                        kc[at + d * t] = kh[d];
                    }
                } else {
                    float[] kc = keys[layer];
                    System.arraycopy(vs, vsrc, values[layer], vat, hs);
                    for (int d = 0; d < hs; d++) {
                        kc[at + d * t] = ks[ksrc + d];
                    }
                }
            }
        }

        /** Where KV head h's keys start in a layer's array: {@link #tiled} positions of headSize each. */
        private int keyOffset(int h) {
            return h * tiled * hs;
        }

        /** Where KV head h's values start in a layer's array: capacity positions of headSize each. */
        private int valueOffset(int h) {
            return h * capacity * hs;
        }

        /** A head's keys or values that would not be finite halves (past f16's range, or NaN) are refused rather than cached as infinite. */
        private void refuse(float[] ks, int kOff, float[] vs, int vOff, int layer, int pos) {
            for (int d = 0; d < 2 * hs; d++) {
                float x = d < hs ? ks[kOff + d] : vs[vOff + d - hs];
                if ((Float.floatToFloat16(x) & 0x7c00) == 0x7c00) {
                    throw new EngineException("the f16 KV cache cannot hold " + (d < hs ? "key " : "value ") + x + " (layer " + layer
                            + ", position " + pos + "): beyond f16's range of +-65504; run with --kv-cache f32");
                }
            }
            throw new IllegalStateException("a head failed Ops.fitHalves and every value converted to a finite half");
        }

        /** A thread's head of keys as halves, before they are scattered into their tile. */
        private static final ThreadLocal<short[]> KEY_HALVES = ThreadLocal.withInitial(() -> new short[0]);

        @Override
        public void attend(int layer, Buffer qBuf, Buffer outBuf, int b, int pos) {
            float[] q = a(qBuf), att = a(outBuf);
            Parallel.forRange(b * nh, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    attend(layer, q, att, t / nh, t % nh, pos);
                }
            });
        }

        /** Head h of batch row i: its output in att from its query in q, over positions 0..pos+i. */
        void attend(int layer, float[] q, float[] att, int i, int h, int pos) {
            attend(layer, q, i * dim, att, i, h, pos);
        }

        /**
         * Batch rows 0..b at positions pos.. of the q heads [h0, h1), whole groups of KV heads: row i's queries at {@code
         * q[qRow0 + i·qStride ..]} (rows of nHeads·headSize), its outputs into att's row i. With halves and more than one row,
         * each KV head's keys and values are widened once, into this thread's floats, for all the rows, instead of inside the
         * kernels once per row (a perplexity window of 128 tokens read each position's halves up to 128 times).
         */
        void attend(int layer, float[] q, int qRow0, int qStride, float[] att, int b, int pos, int h0, int h1) {
            if (halfKeys == null || b == 1) {
                for (int i = 0; i < b; i++) {
                    for (int h = h0; h < h1; h++) {
                        attend(layer, q, qRow0 + i * qStride, att, i, h, pos);
                    }
                }
                return;
            }
            int n = pos + b, t = Ops.KEY_TILE, keyLength = (n + t - 1) / t * t * hs;
            float[][] w = WIDENED.get();
            if (w[0].length < keyLength || w[1].length < n * hs) {
                w[0] = new float[tiled * hs];
                w[1] = new float[capacity * hs];
            }
            float[] kf = w[0], vf = w[1];
            for (int kv = h0 / group; kv * group < h1; kv++) {
                Vectors.fromHalves(halfKeys[layer], keyOffset(kv), kf, 0, keyLength);
                Vectors.fromHalves(halfValues[layer], valueOffset(kv), vf, 0, n * hs);
                for (int i = 0; i < b; i++) {
                    for (int h = Math.max(h0, kv * group); h < Math.min(h1, (kv + 1) * group); h++) {
                        attend(q, qRow0 + i * qStride + h * hs, kf, 0, vf, 0, att, i * dim + h * hs, (i * nh + h) * capacity, pos + i + 1);
                    }
                }
            }
        }

        /** A thread's keys and values of one KV head widened from halves ({@link #attend(int, float[], int, int, float[], int, int, int, int)}). */
        private static final ThreadLocal<float[][]> WIDENED = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

        /** One head over n positions of f32 keys (tiles at kOff) and values (at vOff): scores, softmax, then its output at att[out..]. */
        private void attend(float[] q, int qOff, float[] k, int kOff, float[] v, int vOff, float[] att, int out, int sc, int n) {
            Ops.scores(q, qOff, k, kOff, hs, n, scale, scores, sc);
            Ops.softmax(scores, sc, n);
            Ops.mix(scores, sc, n, v, vOff, hs, att, out);
        }

        /** The same with batch row i's query at {@code q[qRow..]} (a row of nHeads·headSize). */
        void attend(int layer, float[] q, int qRow, float[] att, int i, int h, int pos) {
            int n = pos + i + 1;
            int head = i * dim + h * hs, kv = h / group, sc = (i * nh + h) * capacity;
            if (halfKeys == null) {
                attend(q, qRow + h * hs, keys[layer], keyOffset(kv), values[layer], valueOffset(kv), att, head, sc, n);
                return;
            }
            Ops.scores(q, qRow + h * hs, halfKeys[layer], keyOffset(kv), hs, n, scale, scores, sc);
            Ops.softmax(scores, sc, n);
            Ops.mix(scores, sc, n, halfValues[layer], valueOffset(kv), hs, att, head);
        }

        @Override
        public long bytes() {
            return keys != null ? (long) keys.length * (keys[0].length + values[0].length) * Float.BYTES
                    : (long) halfKeys.length * (halfKeys[0].length + halfValues[0].length) * Short.BYTES;
        }
    }
}

package io.nashswarm.cuda;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.MemorySegment;

import static io.nashswarm.cuda.NativeContext.at;

/**
 * The forward pass in a native library's memory, through the C ABI of {@code nashswarm.h}: activations,
 * weights (packed as stored) and the key/value cache stay there, and only logits come back. With
 * {@code libnashswarm_cuda.so} that is the GPU; with the host build of the same ABI the same class runs
 * on the CPU, which is how it is tested where there is no GPU.
 */
public final class CudaBackend implements Backend {
    private final NativeContext ctx;
    private final NashswarmH h;
    private final MemorySegment c;
    private final String name;
    private float[] host = new float[0];
    /** Device memory free when opened; bytes of weights as stored and of the index built at upload. */
    private final long freeAtOpen;
    private long weightBytes, indexBytes;

    record DeviceBuffer(MemorySegment ptr, int length) implements Buffer {}

    /** A matrix in device memory; rows stored with padding read their inputs through a zero-padded scratch. */
    record DeviceMatrix(WeightMatrix source, NativeContext.Tensor tensor, MemorySegment padded) implements Matrix {}

    public CudaBackend(NativeContext ctx) {
        this.ctx = ctx;
        this.h = ctx.library();
        this.c = ctx.handle();
        this.name = h.ns_backend_name().reinterpret(64).getString(0);
        this.freeAtOpen = ctx.memory()[0];
    }

    /** The CUDA library on device 0: one EngineException saying what is missing (library, driver or device). */
    public static CudaBackend open() {
        NashswarmH lib = NativeLibrary.load(NativeLibrary.Kind.CUDA);
        return new CudaBackend(new NativeContext(lib, 0));
    }

    public NativeContext context() {
        return ctx;
    }

    private static MemorySegment p(Buffer b) {
        return ((DeviceBuffer) b).ptr;
    }

    private static MemorySegment p(Buffer b, int off) {
        return at(((DeviceBuffer) b).ptr, off);
    }

    @Override
    public String name() {
        return name;
    }

    /** cudaMemGetInfo's free bytes at open minus now (the host library: its allocations), beside the weights' own bytes. */
    @Override
    public String describe() {
        long[] mem = ctx.memory();
        long used = name.equals("host") ? mem[1] : freeAtOpen - mem[0];
        return String.format("%s: %s; device memory in use %.1f MiB (cudaMemGetInfo), of which weights as stored %.1f MiB + mixed-row index %.1f MiB; the rest is activations, KV cache and the runtime",
                name, ctx.deviceName(), used / 1048576.0, weightBytes / 1048576.0, indexBytes / 1048576.0);
    }

    /** One stream, one staging buffer: sequences run one at a time. */
    @Override
    public boolean concurrentSequences() {
        return false;
    }

    @Override
    public Buffer allocate(int n) {
        return new DeviceBuffer(ctx.alloc(n), n);
    }

    @Override
    public Buffer upload(float[] values) {
        Buffer b = allocate(values.length);
        ctx.write(p(b), values, 0, values.length);
        return b;
    }

    @Override
    public Matrix upload(WeightMatrix w) {
        NativeContext.Tensor t = ctx.upload(w);
        weightBytes += t.storedBytes();
        indexBytes += t.indexBytes();
        MemorySegment pad = t.storedCols() == t.cols() ? null : ctx.alloc((long) TransformerModel.MAX_BATCH * t.storedCols());
        return new DeviceMatrix(w, t, pad);
    }

    @Override
    public float[] read(Buffer b, int n) {
        if (host.length < n) {
            host = new float[n];
        }
        ctx.read(p(b), host, 0, n);
        return host;
    }

    @Override
    public void matmul(Matrix w, Buffer x, Buffer y, int n) {
        DeviceMatrix m = (DeviceMatrix) w;
        MemorySegment in = p(x);
        if (m.padded != null) {
            if (n > TransformerModel.MAX_BATCH) {
                throw new EngineException("batch of " + n + " exceeds " + TransformerModel.MAX_BATCH);
            }
            int cols = m.tensor.cols(), stored = m.tensor.storedCols();
            for (int b = 0; b < n; b++) {
                ctx.check(h.ns_copy(c, at(m.padded, (long) b * stored), at(in, (long) b * cols), cols), "padding an input");
            }
            in = m.padded;
        }
        ctx.check(h.ns_matmul(c, m.tensor.handle(), in, p(y), n), "matmul " + m.source);
    }

    @Override
    public void embed(Matrix table, int row, Buffer out, int off) {
        DeviceMatrix m = (DeviceMatrix) table;
        if (m.padded == null) {
            ctx.check(h.ns_embed(c, m.tensor.handle(), row, MemorySegment.NULL, p(out, off)), "embedding row " + row);
        } else {
            ctx.check(h.ns_embed(c, m.tensor.handle(), row, MemorySegment.NULL, m.padded), "embedding row " + row);
            ctx.check(h.ns_copy(c, p(out, off), m.padded, m.tensor.cols()), "embedding row " + row);
        }
    }

    @Override
    public void rmsnorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, int rows, int n, float eps) {
        ctx.check(h.ns_rmsnorm(c, p(out, oOff), p(x, xOff), p(w), rows, n, eps), "rmsnorm");
    }

    @Override
    public void layernorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, Buffer b, int rows, int n, float eps) {
        ctx.check(h.ns_layernorm(c, p(out, oOff), p(x, xOff), p(w), p(b), rows, n, eps), "layernorm");
    }

    @Override
    public void rope(Buffer v, int rows, int heads, int headSize, int pos, RopeStyle style, Buffer cos, Buffer sin) {
        int s = style == RopeStyle.INTERLEAVED ? NashswarmH.NS_ROPE_INTERLEAVED : NashswarmH.NS_ROPE_ROTATE_HALF;
        ctx.check(h.ns_rope(c, p(v), rows, heads, headSize, pos, s, p(cos), p(sin)), "rope");
    }

    @Override
    public void add(Buffer y, int yOff, Buffer x, int xOff, int n) {
        ctx.check(h.ns_add(c, p(y, yOff), p(x, xOff), n), "add");
    }

    @Override
    public void addBias(Buffer x, Buffer bias, int rows, int n) {
        ctx.check(h.ns_add_bias(c, p(x), p(bias), rows, n), "bias");
    }

    @Override
    public void copy(Buffer src, int sOff, Buffer dst, int dOff, int n) {
        ctx.check(h.ns_copy(c, p(dst, dOff), p(src, sOff), n), "copy");
    }

    @Override
    public void geluTanh(Buffer x, int n) {
        ctx.check(h.ns_gelu_tanh(c, p(x), n), "gelu");
    }

    @Override
    public void swiglu(Buffer g, Buffer u, int n) {
        ctx.check(h.ns_swiglu(c, p(g), p(u), n), "swiglu");
    }

    @Override
    public KvCache kvCache(ModelConfig cfg, int capacity, int maxBatch) {
        return new DeviceKvCache(cfg, capacity, maxBatch);
    }

    /** keys/values per layer [capacity][kvDim] in device memory, and one score row per (batch row, head). */
    private final class DeviceKvCache implements KvCache {
        private final int capacity, kvDim, nh, nkv, hs;
        private final MemorySegment[] keys, values;
        private final MemorySegment scores;

        DeviceKvCache(ModelConfig cfg, int capacity, int maxBatch) {
            this.capacity = capacity;
            kvDim = cfg.kvDim();
            nh = cfg.nHeads();
            nkv = cfg.nKvHeads();
            hs = cfg.headSize();
            keys = new MemorySegment[cfg.nLayers()];
            values = new MemorySegment[cfg.nLayers()];
            for (int l = 0; l < keys.length; l++) {
                keys[l] = ctx.alloc((long) capacity * kvDim);
                values[l] = ctx.alloc((long) capacity * kvDim);
            }
            scores = ctx.alloc((long) maxBatch * nh * capacity);
        }

        @Override
        public void store(int layer, Buffer k, Buffer v, int b, int pos) {
            ctx.check(h.ns_kv_store(c, keys[layer], values[layer], p(k), p(v), b, pos, kvDim), "kv store");
        }

        @Override
        public void attend(int layer, Buffer q, Buffer out, int b, int pos) {
            ctx.check(h.ns_attention(c, p(q), keys[layer], values[layer], p(out), scores, b, pos, nh, nkv, hs, capacity), "attention");
        }

        @Override
        public long bytes() {
            return 2L * keys.length * capacity * kvDim * Float.BYTES;
        }
    }

    @Override
    public void close() {
        ctx.close();
    }
}

package io.nashswarm.model;

import io.nashswarm.tensor.WeightMatrix;

import java.util.List;

/**
 * Where the forward pass runs: the one seam between the models' lines (which read like llama2.c's
 * {@code forward}) and the memory and kernels that carry them out. The CPU backend keeps activations in
 * heap arrays and runs the Vector API kernels; a device backend keeps them in device memory. Buffers
 * hold floats, rows packed one after another; offsets and counts are in floats.
 */
public interface Backend extends AutoCloseable {
    /** Activations and weights' small vectors, in this backend's memory. */
    interface Buffer {
        /** Floats this buffer holds. */
        int length();
    }

    /** A weight matrix made ready for this backend's products (the CPU uses the mapping as it is). */
    interface Matrix {
        WeightMatrix source();
    }

    /** Keys and values of every layer for one sequence, and the attention over them. */
    interface KvCache {
        /** Stores the {@code b} rows of keys and values (kvDim each) at positions pos.. of {@code layer}. */
        void store(int layer, Buffer k, Buffer v, int b, int pos);

        /**
         * Causal multi-head attention with grouped-query sharing: {@code q} holds {@code b} rows of
         * nHeads·headSize; row i attends positions 0..pos+i of {@code layer}; rows of the result go to {@code out}.
         */
        void attend(int layer, Buffer q, Buffer out, int b, int pos);

        /** Bytes of the keys and values, for memory reports. */
        long bytes();
    }

    /** "cpu", "cuda". */
    String name();

    /** One line for reports: the device, and what this backend holds in its memory (weights as stored, overhead). */
    default String describe() {
        return name();
    }

    /** Whether several sequences may run at once, each from its own thread (a device backend has one stream). */
    default boolean concurrentSequences() {
        return true;
    }

    /** A buffer of {@code n} zeros. */
    Buffer allocate(int n);

    /** A buffer holding these values (norm weights, biases, tables); the array must not change afterwards. */
    Buffer upload(float[] values);

    /** The matrix, made ready for {@link #matmul}. */
    Matrix upload(WeightMatrix w);

    /**
     * Prepares, before the first token, whatever these matrices' products will need that would otherwise be made at
     * the first product (the CPU's repacked copies); a device backend has nothing to do.
     */
    default void prepare(List<WeightMatrix> products) {}

    /**
     * The first {@code n} floats of {@code b} on the host. The array may be the buffer's own storage
     * (the CPU's) or a reused copy; it is valid until the next call on this backend.
     */
    float[] read(Buffer b, int n);

    /**
     * Index of the largest of the first {@code n} floats of {@code b}, the first on ties ({@link Sampler#argmax}): greedy
     * decoding's next token. A device backend finds it where the logits are and returns one int, not the logits.
     */
    default int argmax(Buffer b, int n) {
        return Sampler.argmax(read(b, n), n);
    }

    /** A key/value cache for {@code capacity} positions, attended by batches of up to {@code maxBatch} rows. */
    KvCache kvCache(ModelConfig c, int capacity, int maxBatch);

    /** y = W·x for {@code n} row-major vectors. */
    void matmul(Matrix w, Buffer x, Buffer y, int n);

    /**
     * {@code ys[j] = ws[j]·x} for {@code n} row-major vectors, matrices that share their input (LLaMA's q, k and v; gate
     * and up). The CPU runs them as one job whose threads quantize the input once.
     */
    default void matmul(Matrix[] ws, Buffer x, Buffer[] ys, int n) {
        for (int j = 0; j < ws.length; j++) {
            matmul(ws[j], x, ys[j], n);
        }
    }

    /**
     * LLaMA's attention up to its output projection, for {@code b} rows at positions pos..: {@code s.q, s.k, s.v} = the
     * products of {@code qkv} with x; RoPE on q and k (tables [pos][headSize/2]); k and v stored in the cache at layer
     * {@code layer}; {@code s.att} = each row's attention over positions 0..pos+i.
     */
    default void attention(Matrix[] qkv, Buffer x, InferenceState s, int layer, int b, int pos, RopeStyle style, Buffer cos, Buffer sin) {
        ModelConfig c = s.config;
        matmul(qkv, x, s.qkv, b);
        rope(s.q, b, c.nHeads(), c.headSize(), pos, style, cos, sin);
        rope(s.k, b, c.nKvHeads(), c.headSize(), pos, style, cos, sin);
        s.cache.store(layer, s.k, s.v, b, pos);
        s.cache.attend(layer, s.q, s.att, b, pos);
    }

    /**
     * GPT-2's attention up to its output projection, for {@code b} rows at positions pos..: {@code qkvOut} = the fused
     * projection {@code W·x + bias} (rows of [q | k | v], 3·dim each); k and v stored in the cache at layer {@code layer};
     * {@code s.att} = each row's attention over positions 0..pos+i.
     */
    default void attention(Matrix qkv, Buffer bias, Buffer x, Buffer qkvOut, InferenceState s, int layer, int b, int pos) {
        int dim = s.config.dim();
        matmul(qkv, x, qkvOut, b);
        addBias(qkvOut, bias, b, 3 * dim);
        for (int i = 0; i < b; i++) {
            copy(qkvOut, i * 3 * dim, s.q, i * dim, dim);
            copy(qkvOut, i * 3 * dim + dim, s.k, i * dim, dim);
            copy(qkvOut, i * 3 * dim + 2 * dim, s.v, i * dim, dim);
        }
        s.cache.store(layer, s.k, s.v, b, pos);
        s.cache.attend(layer, s.q, s.att, b, pos);
    }

    /**
     * y += W·x + bias for {@code n} row-major vectors (a residual connection; GPT-2's has a bias, LLaMA's none: null);
     * {@code scratch} holds W·x where the backend needs it.
     */
    default void matmulAdd(Matrix w, Buffer bias, Buffer x, Buffer y, Buffer scratch, int n) {
        int rows = w.source().rows();
        matmul(w, x, scratch, n);
        if (bias != null) {
            addBias(scratch, bias, n, rows);
        }
        add(y, 0, scratch, 0, n * rows);
    }

    /** GPT-2's MLP input: {@code y = gelu_tanh(W·x + bias)}. */
    default void matmulGelu(Matrix w, Buffer bias, Buffer x, Buffer y, int n) {
        int rows = w.source().rows();
        matmul(w, x, y, n);
        addBias(y, bias, n, rows);
        geluTanh(y, n * rows);
    }

    /** LLaMA's feed-forward input: {@code g = silu(gate·x) · (up·x)}; {@code u} holds up·x. */
    default void matmulSwiglu(Matrix gate, Matrix up, Buffer x, Buffer g, Buffer u, int n) {
        matmul(new Matrix[] {gate, up}, x, new Buffer[] {g, u}, n);
        swiglu(g, u, n * gate.source().rows());
    }

    /** Writes row {@code row} of an embedding table, dequantized, at {@code out[off..]}. */
    void embed(Matrix table, int row, Buffer out, int off);

    /** Writes row {@code pos} of a learned position table (GPT-2's): like embed, but the row is the step's position. */
    default void embedPosition(Matrix table, int pos, Buffer out, int off) {
        embed(table, pos, out, off);
    }

    /**
     * Runs one decode step of {@code sequence}: {@code body} embeds {@code token} at position {@code pos}, runs the
     * blocks and leaves the logits in the state. The CPU runs the body; a device backend records it once per
     * sequence and replays the recording (a CUDA graph), with token and position in device memory.
     */
    default void decodeStep(Object sequence, int token, int pos, Runnable body) {
        body.run();
    }

    /** RMSNorm of {@code rows} rows of width {@code n}: o = w · x / sqrt(mean(x²) + eps). */
    void rmsnorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, int rows, int n, float eps);

    /** LayerNorm of {@code rows} rows of width {@code n}: o = (x − mean) / sqrt(var + eps) · w + b. */
    void layernorm(Buffer out, int oOff, Buffer x, int xOff, Buffer w, Buffer b, int rows, int n, float eps);

    /**
     * Rotates {@code rows} rows of {@code heads} heads (row i at position pos+i) by the angles in
     * {@code cos}/{@code sin} ([position][headSize/2]), pairing elements as {@code style} says.
     */
    void rope(Buffer v, int rows, int heads, int headSize, int pos, RopeStyle style, Buffer cos, Buffer sin);

    /** y[yOff..yOff+n) += x[xOff..xOff+n). */
    void add(Buffer y, int yOff, Buffer x, int xOff, int n);

    /** Adds {@code bias} (length n) to each of {@code rows} rows of x. */
    void addBias(Buffer x, Buffer bias, int rows, int n);

    /** dst[dOff..dOff+n) = src[sOff..sOff+n). */
    void copy(Buffer src, int sOff, Buffer dst, int dOff, int n);

    /** GPT-2's tanh GELU over x[0..n), in place. */
    void geluTanh(Buffer x, int n);

    /** SwiGLU over [0..n): g = silu(g) · u, in place in g. */
    void swiglu(Buffer g, Buffer u, int n);

    /** Frees what this backend holds outside the Java heap. */
    @Override
    default void close() {}
}

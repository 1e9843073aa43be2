package io.nashswarm.model;

import io.nashswarm.EngineException;
import io.nashswarm.model.Backend.Buffer;
import io.nashswarm.model.Backend.Matrix;
import io.nashswarm.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What GPT-2 and LLaMA share: token batches flow through embedding, N blocks and a final norm into
 * the LM head, with causal attention over a key/value cache. Each subclass writes its own block,
 * so each forward pass reads top to bottom like llama2.c's {@code forward}; every line of it is a
 * call on the model's {@link Backend}, which owns the buffers and runs the kernels.
 *
 * <p>A batch of {@code n} tokens is processed as matrix-matrix work (prefill); {@code n = 1} is
 * matrix-vector (decode). Long inputs are cut into chunks of {@link #MAX_BATCH} tokens.
 */
public abstract sealed class TransformerModel permits LlamaModel, Gpt2Model {
    /** Tokens per prefill chunk: big enough that weights are read once per many tokens, small enough for cache-friendly buffers. */
    public static final int MAX_BATCH = 64;

    protected final ModelWeights weights;
    protected final ModelConfig config;
    protected final Backend be;
    protected final Matrix tokenEmbedding;
    protected final Matrix lmHead;
    private ActivationObserver observer;

    protected TransformerModel(ModelWeights weights, Backend backend) {
        this.weights = weights;
        this.config = weights.config();
        this.be = backend;
        this.tokenEmbedding = matrix("token_embd.weight");
        this.lmHead = matrix("output.weight");
    }

    /** The model on the CPU backend. */
    public static TransformerModel create(ModelWeights weights) {
        return create(weights, CpuBackend.INSTANCE);
    }

    public static TransformerModel create(ModelWeights weights, Backend backend) {
        TransformerModel m = switch (weights.config().architecture()) {
            case LLAMA -> new LlamaModel(weights, backend);
            case GPT2 -> new Gpt2Model(weights, backend);
        };
        backend.prepare(productMatrices(weights));
        return m;
    }

    /** Every matrix that products read: all but the token embedding, which is read by rows unless the head shares it. */
    private static List<WeightMatrix> productMatrices(ModelWeights weights) {
        Map<String, WeightMatrix> all = weights.matrices();
        WeightMatrix embedding = all.get("token_embd.weight");
        List<WeightMatrix> products = new ArrayList<>();
        for (var e : all.entrySet()) {
            WeightMatrix w = e.getValue();
            boolean rowsOnly = w == embedding && all.get("output.weight") != embedding;
            if (!rowsOnly && !products.contains(w)) {
                products.add(w);
            }
        }
        return products;
    }

    public Backend backend() {
        return be;
    }

    /** The named weight matrix, made ready for the backend. */
    protected final Matrix matrix(String name) {
        return be.upload(weights.matrix(name));
    }

    /** The named weight vector (norm, bias), in the backend's memory. */
    protected final Buffer vector(String name) {
        return be.upload(weights.vector(name));
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** Installs (or, with null, removes) an observer of every matrix product's inputs. */
    public void setObserver(ActivationObserver observer) {
        this.observer = observer;
    }

    /** y = W·x for {@code b} rows; every product of the forward pass goes through here. */
    protected final void matmul(Matrix w, Buffer x, Buffer y, int b) {
        observe(x, b, w);
        be.matmul(w, x, y, b);
    }

    /** {@code ys[j] = ws[j]·x} for matrices that share their input ({@link Backend#matmul(Matrix[], Buffer, Buffer[], int)}). */
    protected final void matmul(Matrix[] ws, Buffer x, Buffer[] ys, int b) {
        for (Matrix w : ws) {
            observe(x, b, w);
        }
        be.matmul(ws, x, ys, b);
    }

    /** LLaMA's attention of one layer ({@link Backend#attention}). */
    protected final void attention(Matrix[] qkv, Buffer x, InferenceState s, int layer, int b, int pos, Buffer cos, Buffer sin) {
        for (Matrix w : qkv) {
            observe(x, b, w);
        }
        be.attention(qkv, x, s, layer, b, pos, config.ropeStyle(), cos, sin);
    }

    /** GPT-2's attention of one layer, its fused projection's output in {@code qkvOut} ({@link Backend#attention(Matrix, Buffer, Buffer, Buffer, InferenceState, int, int, int)}). */
    protected final void attention(Matrix qkv, Buffer bias, Buffer x, Buffer qkvOut, InferenceState s, int layer, int b, int pos) {
        observe(x, b, qkv);
        be.attention(qkv, bias, x, qkvOut, s, layer, b, pos);
    }

    /** y += W·x + bias (null: none), a residual connection ({@link Backend#matmulAdd}). */
    protected final void matmulAdd(Matrix w, Buffer bias, Buffer x, Buffer y, Buffer scratch, int b) {
        observe(x, b, w);
        be.matmulAdd(w, bias, x, y, scratch, b);
    }

    /** y = gelu_tanh(W·x + bias) ({@link Backend#matmulGelu}). */
    protected final void matmulGelu(Matrix w, Buffer bias, Buffer x, Buffer y, int b) {
        observe(x, b, w);
        be.matmulGelu(w, bias, x, y, b);
    }

    /** g = silu(gate·x) · (up·x), LLaMA's feed-forward input ({@link Backend#matmulSwiglu}). */
    protected final void matmulSwiglu(Matrix gate, Matrix up, Buffer x, Buffer g, Buffer u, int b) {
        observe(x, b, gate);
        observe(x, b, up);
        be.matmulSwiglu(gate, up, x, g, u, b);
    }

    /** Shows the observer, if one is installed, the {@code b} input rows in {@code x} of a product with {@code w}. */
    private void observe(Buffer x, int b, Matrix w) {
        if (observer != null) {
            observer.observe(w.source(), be.read(x, b * w.source().cols()), b);
        }
    }

    /** A fresh state able to hold {@code capacity} positions (at most the model's context length). */
    public InferenceState newState(int capacity) {
        if (capacity < 1 || capacity > config.contextLength()) {
            throw new EngineException("context of " + capacity + " tokens is outside 1.." + config.contextLength() + " for this model");
        }
        return new InferenceState(be, config, capacity, Math.min(MAX_BATCH, capacity));
    }

    public InferenceState newState() {
        return newState(config.contextLength());
    }

    /** Runs tokens after those already in {@code s} and returns the last position's logits (a fresh array). */
    public float[] forward(InferenceState s, int[] tokens, int off, int n) {
        float[] out = new float[config.vocabSize()];
        forward(s, tokens, off, n, n - 1, (i, logits, o) -> System.arraycopy(logits, o, out, 0, out.length));
        return out;
    }

    /**
     * Runs one token after those already in {@code s} and returns greedy decoding's next token: the backend picks the
     * largest logit where the logits are (a GPU returns one int, not the vocabulary's floats).
     */
    public int forwardGreedy(InferenceState s, int token) {
        int[] one = {token};
        if (observer != null) { // observed steps take the batched path, which reads its logits through a sink
            return Sampler.argmax(forward(s, one, 0, 1));
        }
        forward(s, one, 0, 1, 1, null); // a decode step that reads no logits back
        return be.argmax(s.logits, config.vocabSize());
    }

    /**
     * Runs {@code tokens[off..off+n)} at the positions following those already in {@code s}; the
     * sink receives the logits of every batch index {@code >= firstLogit}, in order.
     */
    public void forward(InferenceState s, int[] tokens, int off, int n, int firstLogit, LogitsSink sink) {
        if (n <= 0) {
            return;
        }
        if (s.length + n > s.capacity) {
            throw new EngineException("sequence of " + (s.length + n) + " tokens exceeds the context of " + s.capacity + " tokens");
        }
        checkTokens(tokens, off, n);
        if (n == 1 && observer == null) {
            decodeStep(s, tokens, off, firstLogit <= 0 ? sink : null);
            return;
        }
        for (int start = 0; start < n; start += s.maxBatch) {
            int b = Math.min(s.maxBatch, n - start);
            int pos = s.length;
            embed(s, tokens, off + start, b, pos);
            for (int l = 0; l < config.nLayers(); l++) {
                block(s, l, b, pos);
            }
            s.length += b;
            int first = Math.max(0, firstLogit - start);
            if (first < b) {
                logits(s, start, b, first, sink);
            }
        }
    }

    private void checkTokens(int[] tokens, int off, int n) {
        for (int i = off; i < off + n; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new EngineException("token id " + tokens[i] + " is out of range for a vocabulary of " + config.vocabSize());
            }
        }
    }

    /**
     * The input vectors (n × dim, row after row) of {@code tokens[off..off+n)} at positions 0..n−1: a window's
     * hidden states before layer 0, for running the model one layer at a time ({@link #runLayer}).
     */
    public float[] embedded(InferenceState s, int[] tokens, int off, int n) {
        checkTokens(tokens, off, n);
        checkWindow(s, n);
        int dim = config.dim();
        float[] out = new float[Math.multiplyExact(n, dim)];
        s.reset();
        for (int start = 0; start < n; start += s.maxBatch) {
            int b = Math.min(s.maxBatch, n - start);
            embed(s, tokens, off + start, b, start);
            System.arraycopy(be.read(s.x, b * dim), 0, out, start * dim, b * dim);
        }
        return out;
    }

    /**
     * Layer {@code layer} over a window's hidden states (n × dim at positions 0..n−1), in place, in the same batches
     * as {@link #forward}, so the result is the hidden state {@code forward} passes to the next layer. Calibration
     * runs every window one layer at a time this way: the inputs of layer l then cost one layer's work, not a
     * forward pass through l layers.
     */
    public void runLayer(InferenceState s, int layer, float[] hidden, int n) {
        checkWindow(s, n);
        if (layer < 0 || layer >= config.nLayers() || hidden.length < (long) n * config.dim()) {
            throw new IllegalArgumentException("layer " + layer + " of " + config.nLayers() + ", " + hidden.length + " hidden values for " + n + " rows");
        }
        int dim = config.dim();
        s.reset();
        for (int start = 0; start < n; start += s.maxBatch) {
            int b = Math.min(s.maxBatch, n - start);
            be.copy(be.upload(java.util.Arrays.copyOfRange(hidden, start * dim, (start + b) * dim)), 0, s.x, 0, b * dim);
            block(s, layer, b, start);
            s.length += b;
            System.arraycopy(be.read(s.x, b * dim), 0, hidden, start * dim, b * dim);
        }
    }

    private static void checkWindow(InferenceState s, int n) {
        if (n < 1 || n > s.capacity) {
            throw new EngineException("window of " + n + " tokens is outside 1.." + s.capacity + " for this state");
        }
    }

    /** One token: the whole step, logits included, as one unit the backend may record and replay. */
    private void decodeStep(InferenceState s, int[] tokens, int off, LogitsSink sink) {
        int pos = s.length;
        be.decodeStep(s, tokens[off], pos, () -> {
            embed(s, tokens, off, 1, pos);
            for (int l = 0; l < config.nLayers(); l++) {
                block(s, l, 1, pos);
            }
            finalNorm(s, 0, 1);
            be.matmul(lmHead, s.xb, s.logits, 1);
        });
        s.length++;
        if (sink != null) {
            sink.accept(0, be.read(s.logits, config.vocabSize()), 0);
        }
    }

    /** Writes the input vectors of {@code b} tokens at positions pos.. into {@code s.x}. */
    protected abstract void embed(InferenceState s, int[] tokens, int off, int b, int pos);

    /** One transformer block over the batch in {@code s.x}, in place. */
    protected abstract void block(InferenceState s, int layer, int b, int pos);

    /** The final norm of batch rows {@code row..row+rows} of {@code s.x} into {@code s.xb}'s first rows. */
    protected abstract void finalNorm(InferenceState s, int row, int rows);

    private void logits(InferenceState s, int start, int b, int first, LogitsSink sink) {
        int vocab = config.vocabSize();
        for (int r0 = first; r0 < b; r0 += InferenceState.LOGIT_ROWS) {
            int rows = Math.min(InferenceState.LOGIT_ROWS, b - r0);
            finalNorm(s, r0, rows);
            matmul(lmHead, s.xb, s.logits, rows);
            float[] logits = be.read(s.logits, rows * vocab);
            for (int r = 0; r < rows; r++) {
                sink.accept(start + r0 + r, logits, r * vocab);
            }
        }
    }
}

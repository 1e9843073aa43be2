package io.nashswarm.model;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.tensor.WeightMatrix;

/**
 * What GPT-2 and LLaMA share: token batches flow through embedding, N blocks and a final norm into
 * the LM head, with causal attention over a key/value cache. Each subclass writes its own block,
 * so each forward pass reads top to bottom like llama2.c's {@code forward}.
 *
 * <p>A batch of {@code n} tokens is processed as matrix-matrix work (prefill); {@code n = 1} is
 * matrix-vector (decode). Long inputs are cut into chunks of {@link #MAX_BATCH} tokens.
 */
public abstract sealed class TransformerModel permits LlamaModel, Gpt2Model {
    /** Tokens per prefill chunk: big enough that weights are read once per many tokens, small enough for cache-friendly buffers. */
    public static final int MAX_BATCH = 64;

    protected final ModelWeights weights;
    protected final ModelConfig config;
    protected final WeightMatrix tokenEmbedding;
    protected final WeightMatrix lmHead;
    private ActivationObserver observer;

    protected TransformerModel(ModelWeights weights) {
        this.weights = weights;
        this.config = weights.config();
        this.tokenEmbedding = weights.matrix("token_embd.weight");
        this.lmHead = weights.matrix("output.weight");
    }

    public static TransformerModel create(ModelWeights weights) {
        return switch (weights.config().architecture()) {
            case LLAMA -> new LlamaModel(weights);
            case GPT2 -> new Gpt2Model(weights);
        };
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

    /** y = W·x for {@code b} rows, multi-threaded; every product of the forward pass goes through here. */
    protected final void matmul(WeightMatrix w, float[] x, float[] y, int b) {
        if (observer != null) {
            observer.observe(w, x, b);
        }
        Parallel.matmul(w, x, y, b);
    }

    /** A fresh state able to hold {@code capacity} positions (at most the model's context length). */
    public InferenceState newState(int capacity) {
        if (capacity < 1 || capacity > config.contextLength()) {
            throw new EngineException("context of " + capacity + " tokens is outside 1.." + config.contextLength() + " for this model");
        }
        return new InferenceState(config, capacity, Math.min(MAX_BATCH, capacity));
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
        for (int i = off; i < off + n; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new EngineException("token id " + tokens[i] + " is out of range for a vocabulary of " + config.vocabSize());
            }
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

    /** Writes the input vectors of {@code b} tokens at positions pos.. into {@code s.x}. */
    protected abstract void embed(InferenceState s, int[] tokens, int off, int b, int pos);

    /** One transformer block over the batch in {@code s.x}, in place. */
    protected abstract void block(InferenceState s, int layer, int b, int pos);

    /** The final norm of batch row {@code row} of {@code s.x} into {@code out[outOff..]}. */
    protected abstract void finalNorm(InferenceState s, int row, float[] out, int outOff);

    private void logits(InferenceState s, int start, int b, int first, LogitsSink sink) {
        int dim = config.dim(), vocab = config.vocabSize();
        for (int r0 = first; r0 < b; r0 += InferenceState.LOGIT_ROWS) {
            int rows = Math.min(InferenceState.LOGIT_ROWS, b - r0);
            for (int r = 0; r < rows; r++) {
                finalNorm(s, r0 + r, s.xb, r * dim);
            }
            matmul(lmHead, s.xb, s.logits, rows);
            for (int r = 0; r < rows; r++) {
                sink.accept(start + r0 + r, s.logits, r * vocab);
            }
        }
    }

    /**
     * Causal multi-head attention with grouped-query sharing. Queries are {@code s.q} rows of
     * {@code nHeads·headSize}; keys/values for positions up to pos+i are already in the cache.
     * Output rows go to {@code s.att}.
     */
    protected final void attention(InferenceState s, int layer, int b, int pos) {
        int hs = config.headSize(), nh = config.nHeads(), kvDim = config.kvDim(), dim = config.dim();
        int group = nh / config.nKvHeads();
        float scale = (float) (1.0 / Math.sqrt(hs));
        float[] keys = s.keys[layer], values = s.values[layer];
        Parallel.forRange(b * nh, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int i = t / nh, h = t % nh;
                int p = pos + i;
                int qOff = i * dim + h * hs;
                int kvHead = (h / group) * hs;
                int sc = t * s.capacity;
                for (int j = 0; j <= p; j++) {
                    s.scores[sc + j] = Ops.dot(s.q, qOff, keys, j * kvDim + kvHead, hs) * scale;
                }
                Ops.softmax(s.scores, sc, p + 1);
                int outOff = i * dim + h * hs;
                java.util.Arrays.fill(s.att, outOff, outOff + hs, 0f);
                for (int j = 0; j <= p; j++) {
                    Ops.axpy(s.scores[sc + j], values, j * kvDim + kvHead, s.att, outOff, hs);
                }
            }
        });
    }

    /** Stores the batch's keys and values (rows of kvDim in s.k, s.v) at positions pos.. of the cache. */
    protected final void cacheKv(InferenceState s, int layer, int b, int pos) {
        int kvDim = config.kvDim();
        System.arraycopy(s.k, 0, s.keys[layer], pos * kvDim, b * kvDim);
        System.arraycopy(s.v, 0, s.values[layer], pos * kvDim, b * kvDim);
    }
}

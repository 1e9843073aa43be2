package io.nashswarm.model;

/**
 * The per-sequence state of a forward pass: the key/value cache and scratch buffers sized for
 * batches of up to {@link #maxBatch} tokens. One state serves one sequence at a time.
 */
public final class InferenceState {
    final ModelConfig config;
    final int capacity;
    final int maxBatch;
    /** keys[layer][pos·kvDim + h·headSize + i] (values likewise). */
    final float[][] keys, values;

    // Scratch, row-major [batch][width].
    final float[] x, xb, xb2, q, k, v, att, hb, hb2, logits;
    /** Attention scores, one row of {@code capacity} per (batch row, head) handled concurrently. */
    final float[] scores;

    int length;

    InferenceState(ModelConfig c, int capacity, int maxBatch) {
        this.config = c;
        this.capacity = capacity;
        this.maxBatch = maxBatch;
        int kv = c.kvDim();
        keys = new float[c.nLayers()][(int) Math.min(Integer.MAX_VALUE - 8, (long) capacity * kv)];
        values = new float[c.nLayers()][keys[0].length];
        int qkvWidth = c.dim() + 2 * kv;
        x = new float[maxBatch * c.dim()];
        // xb also holds the final-normed rows fed to the LM head, LOGIT_ROWS at a time.
        xb = new float[Math.max(maxBatch * qkvWidth, LOGIT_ROWS * c.dim())];
        xb2 = new float[maxBatch * c.dim()];
        q = new float[maxBatch * c.dim()];
        k = new float[maxBatch * kv];
        v = new float[maxBatch * kv];
        att = new float[maxBatch * c.dim()];
        hb = new float[maxBatch * c.hiddenDim()];
        hb2 = new float[maxBatch * c.hiddenDim()];
        logits = new float[LOGIT_ROWS * c.vocabSize()];
        scores = new float[maxBatch * c.nHeads() * capacity];
    }

    /** Logits are computed for this many positions at a time (bounds memory for big vocabularies). */
    static final int LOGIT_ROWS = 16;

    /** Positions held in the cache. */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Forgets the sequence (the cache is overwritten as new tokens arrive). */
    public void reset() {
        length = 0;
    }

    /** Bytes of the key/value cache, for memory reports. */
    public long cacheBytes() {
        return 2L * keys.length * keys[0].length * Float.BYTES;
    }
}

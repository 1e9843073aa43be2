package io.nashswarm.model;

import io.nashswarm.model.Backend.Buffer;

/**
 * The per-sequence state of a forward pass: the key/value cache and scratch buffers sized for
 * batches of up to {@link #maxBatch} tokens, all taken from the model's backend. One state serves one
 * sequence at a time.
 */
public final class InferenceState {
    final ModelConfig config;
    final int capacity;
    final int maxBatch;
    final Backend.KvCache cache;

    // Scratch, row-major [batch][width].
    final Buffer x, xb, xb2, q, k, v, att, hb, hb2, logits;
    /** LLaMA's q, k and v: the outputs of products of one input. */
    final Buffer[] qkv;

    int length;

    InferenceState(Backend backend, ModelConfig c, int capacity, int maxBatch) {
        this.config = c;
        this.capacity = capacity;
        this.maxBatch = maxBatch;
        int kv = c.kvDim();
        cache = backend.kvCache(c, capacity, maxBatch);
        int qkvWidth = c.dim() + 2 * kv;
        x = backend.allocate(maxBatch * c.dim());
        // xb also holds the final-normed rows fed to the LM head, LOGIT_ROWS at a time.
        xb = backend.allocate(Math.max(maxBatch * qkvWidth, LOGIT_ROWS * c.dim()));
        xb2 = backend.allocate(maxBatch * c.dim());
        q = backend.allocate(maxBatch * c.dim());
        k = backend.allocate(maxBatch * kv);
        v = backend.allocate(maxBatch * kv);
        att = backend.allocate(maxBatch * c.dim());
        hb = backend.allocate(maxBatch * c.hiddenDim());
        hb2 = backend.allocate(maxBatch * c.hiddenDim());
        logits = backend.allocate(LOGIT_ROWS * c.vocabSize());
        qkv = new Buffer[] {q, k, v};
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
        return cache.bytes();
    }
}

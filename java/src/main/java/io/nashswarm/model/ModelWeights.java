package io.nashswarm.model;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A model's weights under canonical names, whatever format they were loaded from. Names follow
 * GGUF's (llama.cpp) convention, so exporting is a rename-free walk. Every matrix is logically
 * {@code [out][in]} (y = W·x); a loader whose file stores {@code [in][out]} wraps it with
 * {@link io.nashswarm.tensor.Layout#IN_OUT} rather than transposing.
 *
 * <pre>
 * both:   token_embd.weight [vocab][dim]   output_norm.weight [dim]   output.weight [vocab][dim]
 *         (tied embeddings: output.weight is the same object as token_embd.weight)
 * LLaMA:  blk.N.attn_norm.weight [dim]        blk.N.ffn_norm.weight [dim]
 *         blk.N.attn_q.weight [heads·hs][dim] blk.N.attn_k.weight / attn_v.weight [kvHeads·hs][dim]
 *         blk.N.attn_output.weight [dim][heads·hs]
 *         blk.N.ffn_gate.weight (w1) / ffn_up.weight (w3) [hidden][dim]   blk.N.ffn_down.weight (w2) [dim][hidden]
 * GPT-2:  position_embd.weight [ctx][dim]     output_norm.bias [dim]
 *         blk.N.attn_norm.weight/.bias [dim]  blk.N.ffn_norm.weight/.bias [dim]
 *         blk.N.attn_qkv.weight [3·dim][dim] (q | k | v) and .bias [3·dim]
 *         blk.N.attn_output.weight [dim][dim] and .bias
 *         blk.N.ffn_up.weight [hidden][dim] and .bias   blk.N.ffn_down.weight [dim][hidden] and .bias
 * </pre>
 * Vectors (norms, biases) are small and held as {@code float[]}; matrices stay in their stored form.
 */
public final class ModelWeights implements AutoCloseable {
    private final ModelConfig config;
    private final Map<String, WeightMatrix> matrices;
    private final Map<String, float[]> vectors;
    private final Arena arena;
    private final String source;

    /**
     * @param arena  owns the memory the matrices point into (mapped files); closed with this object. May be null.
     * @param source a description of where the weights came from, for messages and {@code inspect}
     */
    public ModelWeights(ModelConfig config, Map<String, WeightMatrix> matrices, Map<String, float[]> vectors, Arena arena, String source) {
        this.config = config;
        this.matrices = Collections.unmodifiableMap(new LinkedHashMap<>(matrices));
        this.vectors = Collections.unmodifiableMap(new LinkedHashMap<>(vectors));
        this.arena = arena;
        this.source = source;
    }

    public ModelConfig config() { return config; }
    public Map<String, WeightMatrix> matrices() { return matrices; }
    public Map<String, float[]> vectors() { return vectors; }
    public String source() { return source; }

    public WeightMatrix matrix(String name) {
        WeightMatrix m = matrices.get(name);
        if (m == null) {
            throw new EngineException(source + ": missing tensor " + name);
        }
        return m;
    }

    public float[] vector(String name) {
        float[] v = vectors.get(name);
        if (v == null) {
            throw new EngineException(source + ": missing tensor " + name);
        }
        return v;
    }

    /** Distinct matrices (a tied LM head is counted once). */
    public Set<WeightMatrix> distinctMatrices() {
        Set<WeightMatrix> s = Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(matrices.values());
        return s;
    }

    /** Real bits per matrix weight: every stored byte of the distinct matrices × 8 / their weights. */
    public double matrixBitsPerWeight() {
        double weights = 0, bytes = 0;
        for (WeightMatrix m : distinctMatrices()) {
            weights += (double) m.rows() * m.cols();
            bytes += m.storageBytes();
        }
        return 8 * bytes / weights;
    }

    /** Bytes of weights as stored: distinct matrices plus vectors (stored as float32). */
    public long storageBytes() {
        long n = 0;
        for (WeightMatrix m : distinctMatrices()) {
            n += m.storageBytes();
        }
        for (float[] v : vectors.values()) {
            n += 4L * v.length;
        }
        return n;
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }
}

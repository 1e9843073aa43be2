package io.nashswarm.format.llama2c;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The 7 little-endian int32 of a llama2.c checkpoint. A negative {@code vocab_size} in the file
 * means the classifier is stored separately after the other tensors; {@link #vocabSize()} is
 * always positive.
 */
public record Llama2cHeader(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen,
                            boolean sharedClassifier) {
    public static final int BYTES = 7 * 4;

    /** Reads the raw numbers (no checks); {@code head} must hold at least {@link #BYTES} bytes. */
    public static Llama2cHeader read(byte[] head) {
        ByteBuffer b = ByteBuffer.wrap(head, 0, BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int dim = b.getInt(), hidden = b.getInt(), layers = b.getInt(), heads = b.getInt(), kv = b.getInt(), vocab = b.getInt(), seq = b.getInt();
        return new Llama2cHeader(dim, hidden, layers, heads, kv, vocab == Integer.MIN_VALUE ? 0 : Math.abs(vocab), seq, vocab > 0);
    }

    /** Why these numbers cannot be a real model, or empty when they are plausible. */
    public Optional<String> implausibility() {
        if (dim <= 0 || dim > (1 << 16)) return Optional.of("dim " + dim);
        if (hiddenDim <= 0 || hiddenDim > (1 << 20)) return Optional.of("hidden_dim " + hiddenDim);
        if (nLayers <= 0 || nLayers > 1024) return Optional.of("n_layers " + nLayers);
        if (nHeads <= 0 || nHeads > dim || dim % nHeads != 0) return Optional.of("n_heads " + nHeads + " for dim " + dim);
        if ((dim / nHeads) % 2 != 0) return Optional.of("odd head size " + dim / nHeads);
        if (nKvHeads <= 0 || nKvHeads > nHeads || nHeads % nKvHeads != 0) return Optional.of("n_kv_heads " + nKvHeads + " for " + nHeads + " heads");
        if (vocabSize <= 0 || vocabSize > (1 << 24)) return Optional.of("vocab_size " + vocabSize);
        if (seqLen <= 0 || seqLen > (1 << 24)) return Optional.of("seq_len " + seqLen);
        return Optional.empty();
    }

    public int headSize() { return dim / nHeads; }
    public int kvDim() { return nKvHeads * headSize(); }

    /** Exact file size for these numbers, with the classifier shared or stored separately. */
    public long fileBytes(boolean shared) {
        long d = dim, l = nLayers, h = hiddenDim, v = vocabSize;
        long floats = v * d                  // token_embedding_table
                + l * d                      // rms_att_weight
                + l * d * d                  // wq (n_heads * head_size = dim)
                + 2 * l * d * kvDim()        // wk, wv
                + l * d * d                  // wo
                + l * d                      // rms_ffn_weight
                + 3 * l * d * h              // w1, w2, w3
                + d                          // rms_final_weight
                + 2L * seqLen * headSize() / 2 // freq_cis_real, freq_cis_imag (unused: RoPE is computed)
                + (shared ? 0 : v * d);      // wcls
        return BYTES + 4 * floats;
    }

    @Override
    public String toString() {
        return "dim " + dim + ", hidden_dim " + hiddenDim + ", n_layers " + nLayers + ", n_heads " + nHeads + ", n_kv_heads "
                + nKvHeads + ", vocab_size " + (sharedClassifier ? "" : "-") + vocabSize + ", seq_len " + seqLen;
    }
}

package io.nashswarm.model;

import io.nashswarm.EngineException;

import java.util.List;

/**
 * Hyper-parameters of a GPT-2 or LLaMA model, whatever file they came from.
 *
 * @param hiddenDim    MLP inner width (GPT-2: 4·dim; LLaMA: the SwiGLU width)
 * @param nKvHeads     key/value heads (grouped-query attention); equals nHeads for GPT-2
 * @param contextLength maximum positions (GPT-2 n_positions, LLaMA max_position_embeddings / seq_len)
 * @param normEps      LayerNorm / RMSNorm epsilon
 * @param ropeTheta    RoPE base frequency (LLaMA only)
 * @param tiedEmbeddings the LM head is the token embedding matrix
 * @param ropeFreqFactors per-pair divisors of the RoPE frequencies (Llama 3.1 scaling, see
 *                     {@link RopeFrequencies}), headSize/2 of them, or null for none
 */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int hiddenDim,
        int nLayers,
        int nHeads,
        int nKvHeads,
        int vocabSize,
        int contextLength,
        float normEps,
        float ropeTheta,
        RopeStyle ropeStyle,
        boolean tiedEmbeddings,
        List<Float> ropeFreqFactors) {

    /** A config without RoPE frequency scaling. */
    public ModelConfig(Architecture architecture, int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                       int contextLength, float normEps, float ropeTheta, RopeStyle ropeStyle, boolean tiedEmbeddings) {
        this(architecture, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, contextLength, normEps, ropeTheta, ropeStyle,
                tiedEmbeddings, null);
    }

    public ModelConfig {
        check(dim > 0, "dim must be positive, got " + dim);
        check(hiddenDim > 0, "hidden size must be positive, got " + hiddenDim);
        check(nLayers > 0, "layer count must be positive, got " + nLayers);
        check(nHeads > 0 && dim % nHeads == 0, "dim " + dim + " is not divisible by " + nHeads + " heads");
        check(nKvHeads > 0 && nHeads % nKvHeads == 0, nHeads + " heads is not a multiple of " + nKvHeads + " key/value heads");
        check(vocabSize > 0, "vocabulary size must be positive, got " + vocabSize);
        check(contextLength > 0, "context length must be positive, got " + contextLength);
        check(architecture != Architecture.LLAMA || (dim / nHeads) % 2 == 0, "RoPE needs an even head size, got " + dim / nHeads);
        if (ropeFreqFactors != null) {
            check(architecture == Architecture.LLAMA, "RoPE frequency factors on a model without RoPE");
            check(ropeFreqFactors.size() == dim / nHeads / 2, ropeFreqFactors.size() + " RoPE frequency factors for head size "
                    + dim / nHeads + " (need " + dim / nHeads / 2 + ")");
            for (Float f : ropeFreqFactors) {
                check(f != null && f > 0 && Float.isFinite(f), "RoPE frequency factor " + f + " is not a positive number");
            }
            ropeFreqFactors = List.copyOf(ropeFreqFactors);
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new EngineException("invalid model configuration: " + message);
        }
    }

    public int headSize() {
        return dim / nHeads;
    }

    public int kvDim() {
        return nKvHeads * headSize();
    }

    public ModelConfig withContextLength(int n) {
        return new ModelConfig(architecture, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, n, normEps, ropeTheta, ropeStyle,
                tiedEmbeddings, ropeFreqFactors);
    }

    public ModelConfig withTiedEmbeddings(boolean tied) {
        return new ModelConfig(architecture, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, contextLength, normEps, ropeTheta,
                ropeStyle, tied, ropeFreqFactors);
    }

    public ModelConfig withRopeFreqFactors(List<Float> factors) {
        return new ModelConfig(architecture, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, contextLength, normEps, ropeTheta,
                ropeStyle, tiedEmbeddings, factors);
    }
}

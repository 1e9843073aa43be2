package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.eval.Perplexity;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;

import java.util.Arrays;
import java.util.Map;

/**
 * Activation statistics of a model over the calibration part of a {@link DataSplit}.
 *
 * @param meanSquares E[x²] per input channel by tensor name
 * @param meanAbs     E|x| per input channel by tensor name (AWQ)
 * @param hessians    {@code 2·XᵀX/n} by tensor name, or null when not collected
 * @param tokens      calibration tokens run through the model
 * @param description the split and token count, for reports and provenance
 */
public record Calibration(Map<String, float[]> meanSquares, Map<String, float[]> meanAbs, Map<String, Hessian> hessians, int tokens,
                          String description, LayerHessians perLayer) {
    public Calibration(Map<String, float[]> meanSquares, Map<String, float[]> meanAbs, Map<String, Hessian> hessians, int tokens,
                       String description) {
        this(meanSquares, meanAbs, hessians, tokens, description, null);
    }

    /**
     * Hessians collected one layer at a time as GPTQ reaches it, so that memory holds one layer's (about 600 MB
     * at Llama-3.2-1B's shapes) instead of all of them (10 GB). Calls go through the layers in order
     * ({@link LayerInputs}: each model's hidden states move one layer per call, so a call costs a layer's work).
     */
    public interface LayerHessians {
        /** The Hessians of the matrices {@code names} on calibration inputs run through {@code model}. */
        Map<String, Hessian> of(ModelWeights model, java.util.Set<String> names);

        /** The paired moments of the matrices {@code names} on calibration inputs run through both models ({@link PairedInputs}). */
        Map<String, PairedInputs.Moments> paired(ModelWeights reference, ModelWeights current, java.util.Set<String> names);
    }

    /** Longest calibration window: long enough for real context, short enough to be cheap. */
    public static final int MAX_WINDOW = 512;

    /** The calibration part of {@code split} as token ids (BOS first where the tokenizer wants it). */
    public static int[] tokens(Tokenizer tokenizer, DataSplit split) {
        return Perplexity.withBos(tokenizer, tokenizer.encode(split.calibration()));
    }

    /**
     * Runs the model over the first {@code maxTokens} of {@code tokens} in non-overlapping windows of
     * min(context, 512) tokens; progress counts tokens.
     *
     * @param splitDescription the {@link DataSplit#description()} the tokens came from
     */
    public static Calibration run(ModelWeights weights, int[] tokens, int maxTokens, String splitDescription, Progress progress) {
        return run(weights, tokens, maxTokens, splitDescription, false, progress);
    }

    /** As above; with {@code hessians}, also the full second moments of every matrix's inputs (GPTQ). */
    public static Calibration run(ModelWeights weights, int[] tokens, int maxTokens, String splitDescription, boolean hessians,
                                  Progress progress) {
        if (maxTokens < 1) {
            throw new EngineException("--calib-tokens must be >= 1, got " + maxTokens);
        }
        int[] ids = tokens.length > maxTokens ? Arrays.copyOf(tokens, maxTokens) : tokens;
        TransformerModel model = TransformerModel.create(weights);
        int window = Math.min(model.config().contextLength(), MAX_WINDOW);
        ActivationStats stats = ActivationStats.collect(model, ids, window, hessians, progress);
        String desc = String.format("%s; %d of %d calibration tokens, windows of %d", splitDescription, ids.length, tokens.length, window);
        LayerHessians perLayer = new LayerHessians() {
            // Each model's calibration windows, carried from layer to layer as GPTQ goes (LayerInputs); a new
            // quantization starting again at layer 0 starts them again from the embeddings
            private LayerInputs reference, current;

            @Override
            public Map<String, Hessian> of(ModelWeights model, java.util.Set<String> names) {
                int layer = LayerInputs.layerOf(names);
                if (reference == null) {
                    reference = new LayerInputs(ids, window);
                }
                reference.catchUp(model, layer);
                java.util.Set<io.nashswarm.tensor.WeightMatrix> wanted = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
                names.forEach(n -> wanted.add(model.matrices().get(n)));
                ActivationStats stats = new ActivationStats(wanted::contains);
                reference.pass(model, stats);
                Map<String, Hessian> out = new java.util.LinkedHashMap<>(stats.hessiansByName(model));
                out.keySet().retainAll(names);
                return out;
            }

            @Override
            public Map<String, PairedInputs.Moments> paired(ModelWeights reference, ModelWeights current, java.util.Set<String> names) {
                if (this.reference == null) {
                    this.reference = new LayerInputs(ids, window);
                }
                if (this.current == null) {
                    this.current = new LayerInputs(ids, window);
                }
                return PairedInputs.collect(reference, current, names, this.reference, this.current);
            }
        };
        return new Calibration(stats.byName(weights), stats.meanAbsByName(weights), hessians ? stats.hessiansByName(weights) : null, ids.length,
                desc, perLayer);
    }
}

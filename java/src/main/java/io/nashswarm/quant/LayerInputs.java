package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.InferenceState;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The calibration windows' hidden states in one model, carried forward one layer at a time
 * ({@link TransformerModel#runLayer}). Calibrating layer l then runs layer l alone rather than a forward pass
 * through layers 0..l: for a model quantized layer by layer (GPTQ), calibration costs a few layers' work per
 * layer instead of a whole model's. A model whose earlier layers were quantized meanwhile catches up through
 * its quantized layers.
 */
final class LayerInputs {
    /** A body matrix's name: group 1 its layer's prefix {@code blk.N.}, group 2 the layer index N. */
    static final Pattern LAYER = Pattern.compile("(blk\\.(\\d+)\\.).*");

    private final int[] tokens;
    private final int window;
    private float[][] hidden;
    private int layer; // hidden holds the inputs of this layer (once embedded)

    LayerInputs(int[] tokens, int window) {
        if (tokens.length == 0) {
            throw new EngineException("no calibration tokens");
        }
        this.tokens = tokens;
        this.window = window;
    }

    /** The one layer index the names {@code blk.N.…} share. */
    static int layerOf(Set<String> names) {
        int layer = -1;
        for (String n : names) {
            Matcher m = LAYER.matcher(n);
            int l = m.matches() ? Integer.parseInt(m.group(2)) : -2;
            if (l < 0 || (layer >= 0 && l != layer)) {
                throw new IllegalArgumentException("calibration one layer at a time needs matrices of one layer blk.N, got " + names);
            }
            layer = l;
        }
        if (layer < 0) {
            throw new IllegalArgumentException("no matrices to calibrate");
        }
        return layer;
    }

    int windows() {
        return (tokens.length + window - 1) / window;
    }

    /** Tokens in window {@code w}. */
    int size(int w) {
        return Math.min(window, tokens.length - w * window);
    }

    /** Window {@code w}'s hidden states (size(w) × dim), the inputs of {@link #layer()}; callers may run a layer on them in place. */
    float[] hidden(int w) {
        return hidden[w];
    }

    int layer() {
        return layer;
    }

    /** Runs layer {@link #layer()} of {@code weights} on every window, its inputs shown to {@code observer}, and moves past it. */
    void pass(ModelWeights weights, io.nashswarm.model.ActivationObserver observer) {
        TransformerModel model = TransformerModel.create(weights);
        model.setObserver(observer);
        InferenceState s = newState(model);
        for (int w = 0; w < windows(); w++) {
            model.runLayer(s, layer, hidden[w], size(w));
        }
        passed();
    }

    /** After a caller ran layer {@link #layer()} in place on every window. */
    void passed() {
        layer++;
    }

    /** A state for one window, and so for every window of this calibration. */
    InferenceState newState(TransformerModel model) {
        return model.newState(window);
    }

    /** Brings the hidden states to the inputs of layer {@code to}, through the layers of {@code weights} they have not passed. */
    void catchUp(ModelWeights weights, int to) {
        if (to < 0 || to > weights.config().nLayers()) {
            throw new IllegalArgumentException("layer " + to + " of " + weights.config().nLayers());
        }
        if (hidden != null && to == layer) {
            return;
        }
        TransformerModel model = TransformerModel.create(weights);
        InferenceState s = newState(model);
        if (hidden == null || to < layer) {
            hidden = new float[windows()][];
            for (int w = 0; w < hidden.length; w++) {
                hidden[w] = model.embedded(s, tokens, w * window, size(w));
            }
            layer = 0;
        }
        for (; layer < to; layer++) {
            for (int w = 0; w < hidden.length; w++) {
                model.runLayer(s, layer, hidden[w], size(w));
            }
        }
    }
}

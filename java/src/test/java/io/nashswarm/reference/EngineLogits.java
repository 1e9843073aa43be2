package io.nashswarm.reference;

import io.nashswarm.model.InferenceState;
import io.nashswarm.model.TransformerModel;

import java.util.Arrays;

/** The engine's logits at every position of a sequence, fed in the ways a user's run feeds it. */
final class EngineLogits {
    private EngineLogits() {}

    /** One forward call over the whole sequence (cut into MAX_BATCH chunks by the engine). */
    static float[][] prefill(TransformerModel model, int[] tokens) {
        return prefillThenDecode(model, tokens, tokens.length);
    }

    /** One token at a time, each step reading the KV cache of the previous ones. */
    static float[][] decode(TransformerModel model, int[] tokens) {
        return prefillThenDecode(model, tokens, 0);
    }

    /** The first {@code prefill} tokens as one batch, the rest one at a time. */
    static float[][] prefillThenDecode(TransformerModel model, int[] tokens, int prefill) {
        InferenceState s = model.newState();
        float[][] out = new float[tokens.length][];
        batch(model, s, tokens, 0, prefill, out);
        for (int p = prefill; p < tokens.length; p++) {
            out[p] = model.forward(s, tokens, p, 1);
        }
        return out;
    }

    /** Two batches: {@code [0, split)} then {@code [split, len)}, the second attending to the cached first. */
    static float[][] twoBatches(TransformerModel model, int[] tokens, int split) {
        InferenceState s = model.newState();
        float[][] out = new float[tokens.length][];
        batch(model, s, tokens, 0, split, out);
        batch(model, s, tokens, split, tokens.length - split, out);
        return out;
    }

    private static void batch(TransformerModel model, InferenceState s, int[] tokens, int off, int n, float[][] out) {
        int vocab = model.config().vocabSize();
        model.forward(s, tokens, off, n, 0, (i, logits, o) -> out[off + i] = Arrays.copyOfRange(logits, o, o + vocab));
    }
}

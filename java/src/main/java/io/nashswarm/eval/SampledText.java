package io.nashswarm.eval;

import io.nashswarm.model.InferenceState;
import io.nashswarm.model.Sampler;
import io.nashswarm.model.TransformerModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Documents sampled from a model itself (temperature 1, no truncation), each starting with a start
 * token. Text the model "speaks" is the in-domain evaluation set for models whose training text is
 * not at hand (stories260K has no tokenizer here) or far from WikiText (aidreams260K): perplexity
 * on it measures how much a quantized copy departs from its original, independent of the domain.
 * Each document has its own seed, so the result does not depend on the thread count.
 */
public final class SampledText {
    private SampledText() {}

    public static List<int[]> sample(TransformerModel model, int startToken, int documents, int length, long seed) {
        int[][] docs = new int[documents][];
        Perplexity.forEachSegment(model, documents, length, (state, d) -> docs[d] = document(model, state, startToken, length, seed + d));
        return new ArrayList<>(Arrays.asList(docs));
    }

    private static int[] document(TransformerModel model, InferenceState state, int startToken, int length, long seed) {
        Sampler sampler = new Sampler(1f, 0, 1f, seed);
        int[] ids = new int[length];
        ids[0] = startToken;
        state.reset();
        for (int i = 1; i < length; i++) {
            float[] logits = model.forward(state, ids, i - 1, 1);
            ids[i] = sampler.sample(logits);
        }
        return ids;
    }

    /** The documents one after another, as one token stream. */
    public static int[] concat(List<int[]> documents) {
        return documents.stream().flatMapToInt(Arrays::stream).toArray();
    }
}

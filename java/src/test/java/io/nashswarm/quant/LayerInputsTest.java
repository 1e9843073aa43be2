package io.nashswarm.quant;

import io.nashswarm.model.ModelWeights;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class LayerInputsTest {
    @Test
    void layerOfNamesOneLayer() {
        assertEquals(3, LayerInputs.layerOf(Set.of("blk.3.attn_q.weight", "blk.3.ffn_up.weight")));
        assertEquals(12, LayerInputs.layerOf(Set.of("blk.12.ffn_down.weight")));
        assertThrows(IllegalArgumentException.class, () -> LayerInputs.layerOf(Set.of("blk.1.attn_q.weight", "blk.2.attn_q.weight")));
        assertThrows(IllegalArgumentException.class, () -> LayerInputs.layerOf(Set.of("output.weight")));
        assertThrows(IllegalArgumentException.class, () -> LayerInputs.layerOf(Set.of()));
    }

    /**
     * Windows of 64 over 150 tokens (a short last window), batches of the model's own size: the hidden states after
     * layers 0..2 carried one layer at a time, and again after going back to layer 1 (from the embeddings), agree
     * with a fresh run to layer 1; and each layer changes them.
     */
    @Test
    void goingBackStartsFromTheEmbeddings() {
        try (ModelWeights w = TinyModels.llama(64, 96, 3, 50, 9)) {
            int[] tokens = new Random(10).ints(150, 0, 50).toArray();
            LayerInputs fresh = new LayerInputs(tokens, 64), moved = new LayerInputs(tokens, 64);
            assertEquals(3, fresh.windows());
            assertEquals(22, fresh.size(2));
            fresh.catchUp(w, 1);
            moved.catchUp(w, 3);
            assertEquals(3, moved.layer());
            for (int win = 0; win < 3; win++) {
                assertFalse(java.util.Arrays.equals(fresh.hidden(win), moved.hidden(win)), "layers 1 and 2 changed window " + win);
            }
            moved.catchUp(w, 1);
            assertEquals(1, moved.layer());
            for (int win = 0; win < 3; win++) {
                float[] a = fresh.hidden(win), b = moved.hidden(win);
                assertEquals(fresh.size(win) * 64, a.length);
                for (int i = 0; i < a.length; i++) {
                    assertEquals(a[i], b[i], 1e-5f * Math.max(1, Math.abs(a[i])), "window " + win + " value " + i);
                }
            }
        }
    }
}

package io.nashswarm.eval;

import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeStyle;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PerplexityDefaultsTest {
    private static ModelConfig llama(int ctx) {
        return new ModelConfig(Architecture.LLAMA, 64, 128, 2, 4, 2, 100, ctx, 1e-5f, 500000f, RopeStyle.ROTATE_HALF, true);
    }

    /** GPT-2 (1024) and Llama 2 (4096) keep their context; Llama 3.x's 131072-token windows would need gigabytes of KV cache. */
    @Test
    void defaultWindowIsTheModelsContextUpTo4096() {
        assertEquals(1024, Perplexity.defaultContext(llama(1024)));
        assertEquals(4096, Perplexity.defaultContext(llama(4096)));
        assertEquals(4096, Perplexity.defaultContext(llama(131072)));
    }
}

package io.nashswarm.model;

import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.kernel.SkewedSplit;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The worker pool splits each product by the threads' measured speeds, so the parts differ from job to job. A LLaMA
 * with grouped-query attention (TINY_LLAMA_256: 4 heads on 2 KV heads, rows large enough to run on both threads) must
 * give the same logits under a split that favours one thread as on one thread: the attention job's heads, the
 * epilogues' rows and each product's rows must agree on every cut.
 */
class UnevenSplitTest {
    @AfterEach
    void restore() {
        Parallel.setThreads(Parallel.defaultThreads());
    }

    @ParameterizedTest
    @EnumSource(value = QuantType.class, names = {"F32", "Q4_0"})
    void logitsUnderASkewedSplitEqualOneThreads(QuantType type) throws Exception {
        Path file = Files.createTempFile("uneven-split", ".gguf");
        try {
            SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA_256, type, 11, file);
            int[] prompt = {1, 7, 42, 99, 3, 250, 17, 5};
            Parallel.setThreads(1);
            float[][] one = decode(file, prompt, false);
            Parallel.setThreads(2);
            float[][] skewed = decode(file, prompt, true);
            for (int step = 0; step < one.length; step++) {
                float max = 0, diff = 0;
                for (int i = 0; i < one[step].length; i++) {
                    max = Math.max(max, Math.abs(one[step][i]));
                    diff = Math.max(diff, Math.abs(one[step][i] - skewed[step][i]));
                }
                // Each row is computed by the same code on either thread; only a float kernel's lane order could differ.
                assertTrue(diff <= 1e-5f * max, type + " step " + step + ": logits differ by " + diff + " (largest " + max + ")");
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The prompt's last logits and those of 6 greedy steps; with {@code skew}, the pool is taught an uneven split before each. */
    private static float[][] decode(Path file, int[] prompt, boolean skew) throws Exception {
        try (var m = ModelLoader.loadWeights(file)) {
            TransformerModel model = TransformerModel.create(m.weights());
            InferenceState s = model.newState();
            float[][] out = new float[7][];
            if (skew) {
                assertTrue(SkewedSplit.teach(4000) < 0.45, "the pool learnt an uneven split");
            }
            out[0] = model.forward(s, prompt, 0, prompt.length).clone();
            int[] tokens = new int[out.length];
            for (int i = 1; i < out.length; i++) {
                tokens[i] = Sampler.argmax(out[i - 1]);
                if (skew) {
                    SkewedSplit.teach(4000);
                }
                out[i] = model.forward(s, tokens, i, 1).clone();
            }
            return out;
        }
    }
}

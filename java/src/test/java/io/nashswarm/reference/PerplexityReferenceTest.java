package io.nashswarm.reference;

import io.nashswarm.eval.Perplexity;
import io.nashswarm.eval.PerplexityResult;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static io.nashswarm.format.safetensors.SafetensorsDtype.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Perplexity#standard} against {@link SlidingWindowNll}, Hugging Face's sliding-window method
 * computed with the float64 reference: the same tokens scored, each from the same context, and the
 * mean NLL within 1e-6 relative ({@code |engine − ref| / |ref|}).
 */
class PerplexityReferenceTest {
    static final int CTX = 16;
    static final double TOLERANCE = 1e-6;

    static final List<ModelSpec> MODELS = List.of(
            new LlamaSpec("ppl-llama", F32, 32, 64, 2, 4, 2, 50, CTX, 10000, 1e-5, false, 31),
            new Gpt2Spec("ppl-gpt2", F32, 32, 4, 2, 50, CTX, null, false, "transformer.", false, 32));

    /** (text length, stride): disjoint windows, half overlap, small strides, lengths off the stride grid, one short text. */
    static Stream<Arguments> cases() {
        int[][] runs = {{47, CTX}, {48, CTX}, {47, CTX / 2}, {47, 5}, {47, 3}, {40, 1}, {11, CTX / 2}};
        return MODELS.stream().flatMap(m -> Stream.of(runs).map(r -> Arguments.of(m.name(), r[0], r[1], m)));
    }

    @ParameterizedTest(name = "{0} N={1} ctx=16 stride={2}")
    @MethodSource("cases")
    void standardPerplexityMatchesSlidingWindowReference(String name, int n, int stride, ModelSpec spec, @TempDir Path dir) {
        Checkpoint ckpt = Checkpoint.random(spec);
        int[] tokens = new Random(n * 31L + stride).ints(n, 0, spec.vocab()).toArray();
        SlidingWindowNll.Result ref = SlidingWindowNll.of(tokens, CTX, stride, ckpt::referenceLogits);

        PerplexityResult got;
        try (LoadedModel m = ModelLoader.loadWeights(ckpt.write(Checkpoint.Format.HF, dir))) {
            got = Perplexity.standard(TransformerModel.create(m.weights()), tokens, CTX, stride, "random tokens", Progress.none());
        }

        // Every token after the first has a target slot, except that disjoint windows (stride == ctx)
        // cannot score their own first token: Hugging Face's method skips it.
        long expectedScored = stride < CTX || n <= CTX ? n - 1 : n - ref.windows();
        assertEquals(expectedScored, ref.tokensScored(), "reference bookkeeping");
        assertEquals(ref.tokensScored(), got.tokensScored(), "tokens scored");
        assertEquals(ref.windows(), got.segments(), "windows");
        assertEquals(n, got.tokensInText());
        double rel = Math.abs(got.meanNll() - ref.meanNll()) / Math.abs(ref.meanNll());
        assertTrue(rel <= TOLERANCE, "mean NLL " + got.meanNll() + " vs reference " + ref.meanNll() + ": relative error " + rel);
    }
}

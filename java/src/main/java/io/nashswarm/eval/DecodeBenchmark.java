package io.nashswarm.eval;

import io.nashswarm.model.InferenceState;
import io.nashswarm.model.Sampler;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * End-to-end speed of one model: prefill of a random prompt, then greedy decode, timed with the
 * model warm. Reports the weight bytes a decode step must stream, so tokens/s can be set against
 * memory bandwidth (decode is bandwidth-bound: tokens/s ≤ bandwidth / bytes per token).
 */
public final class DecodeBenchmark {
    private DecodeBenchmark() {}

    public record Result(int promptTokens, int decodeTokens, double prefillTokensPerSecond, double decodeTokensPerSecond,
                         long weightBytesPerToken, long kvCacheBytes) {
        public double msPerToken() {
            return 1000.0 / decodeTokensPerSecond;
        }

        /** Weight bytes streamed per second while decoding. */
        public double decodeGBps() {
            return weightBytesPerToken * decodeTokensPerSecond / 1e9;
        }
    }

    static final int WARMUP_ROUNDS = 2;

    public static Result run(TransformerModel model, int promptTokens, int decodeTokens, int repeats, long seed) {
        int vocab = model.config().vocabSize();
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] prompt = rnd.ints(promptTokens, 0, vocab).toArray();
        InferenceState s = model.newState(Math.min(model.config().contextLength(), promptTokens + decodeTokens + 1));
        // Untimed rounds first: the Vector API kernels run orders of magnitude slower until C2 compiles
        // them, and the mapped weights must be paged in.
        long bestPrefill = Long.MAX_VALUE, bestDecode = Long.MAX_VALUE;
        int[] one = new int[1];
        for (int r = -WARMUP_ROUNDS; r < Math.max(1, repeats); r++) {
            s.reset();
            long t0 = System.nanoTime();
            float[] logits = model.forward(s, prompt, 0, promptTokens);
            long t1 = System.nanoTime();
            for (int i = 0; i < decodeTokens; i++) {
                one[0] = Sampler.argmax(logits);
                logits = model.forward(s, one, 0, 1);
            }
            long t2 = System.nanoTime();
            if (r >= 0) {
                bestPrefill = Math.min(bestPrefill, t1 - t0);
                bestDecode = Math.min(bestDecode, t2 - t1);
            }
        }
        return new Result(promptTokens, decodeTokens, promptTokens / (bestPrefill / 1e9), decodeTokens / (bestDecode / 1e9),
                weightBytesPerToken(model), s.cacheBytes());
    }

    /** Bytes of every matrix a decode step multiplies with (embedding rows looked up are not counted; a tied head is). */
    public static long weightBytesPerToken(TransformerModel model) {
        Set<WeightMatrix> used = Collections.newSetFromMap(new IdentityHashMap<>());
        model.weights().matrices().forEach((name, m) -> {
            if (name.startsWith("blk.") || name.equals("output.weight")) {
                used.add(m);
            }
        });
        long bytes = 0;
        for (WeightMatrix m : used) {
            bytes += m.storageBytes();
        }
        return bytes;
    }
}

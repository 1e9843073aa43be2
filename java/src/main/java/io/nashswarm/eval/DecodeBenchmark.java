package io.nashswarm.eval;

import io.nashswarm.model.InferenceState;
import io.nashswarm.model.Sampler;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
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

    /**
     * @param decodeAllocatedBytesPerToken heap bytes all threads allocated per decoded token, in the timed round that
     *        allocated least ({@code -1} where not measured): tens of kilobytes when C2 compiled the kernels' vector
     *        operations into registers, and megabytes when it left some of them as calls on boxed vectors
     *        ({@link #BOXED_BYTES_PER_TOKEN})
     */
    public record Result(int promptTokens, int decodeTokens, double prefillTokensPerSecond, double decodeTokensPerSecond,
                         long weightBytesPerToken, long kvCacheBytes, int warmupRounds, long decodeAllocatedBytesPerToken) {
        public double msPerToken() {
            return 1000.0 / decodeTokensPerSecond;
        }

        /** Weight bytes streamed per second while decoding. */
        public double decodeGBps() {
            return weightBytesPerToken * decodeTokensPerSecond / 1e9;
        }
    }

    /**
     * Allocation per decoded token above which a run's compiled kernels box vectors: a decode step allocates tens of
     * kilobytes (its jobs, lambdas and small arrays: gpt2-124m int4 20 KB a token), while in about four of ten JVMs
     * decoding gpt2-124m int4 with its int8 head C2 compiled int4's kernel with its per-group epilogue as calls on boxed
     * vectors, allocating 49-72 MB a token at half the speed (bench/results/jit-modes-2026-12-05.md).
     */
    public static final long BOXED_BYTES_PER_TOKEN = 1 << 20;

    /** Untimed rounds at least, and at most (or {@link #MAX_WARMUP_NANOS} of them, whichever ends first). */
    static final int WARMUP_ROUNDS = 2, MAX_WARMUP_ROUNDS = 30;
    static final long MAX_WARMUP_NANOS = 30_000_000_000L;

    public static Result run(TransformerModel model, int promptTokens, int decodeTokens, int repeats, long seed) {
        int vocab = model.config().vocabSize();
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] prompt = rnd.ints(promptTokens, 0, vocab).toArray();
        InferenceState s = model.newState(Math.min(model.config().contextLength(), promptTokens + decodeTokens + 1));
        int warmup = warmUp(() -> {
            long[] t = round(model, s, prompt, decodeTokens);
            return t[0] + t[1];
        });
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE};
        long allocated = Long.MAX_VALUE;
        for (int r = 0; r < Math.max(1, repeats); r++) {
            long[] t = round(model, s, prompt, decodeTokens);
            best[0] = Math.min(best[0], t[0]);
            best[1] = Math.min(best[1], t[1]);
            allocated = t[2] < 0 ? -1 : Math.min(allocated, t[2]);
        }
        return result(model, s, promptTokens, decodeTokens, best, warmup, allocated < 0 ? -1 : allocated / Math.max(1, decodeTokens));
    }

    /**
     * Untimed rounds until the JIT is quiet, their count: the Vector API kernels run orders of magnitude slower until C2
     * compiles them, the mapped weights must be paged in, and on a 2-core host a compiler thread still at work takes a
     * core from the products (stories110M Q4_0 at 64 tokens after two rounds: 166-261 tok/s on one thread from run to
     * run; 298-343 once warm). {@code round} runs one and returns its nanoseconds; quiet is a round that compiled for
     * under 1 ms + 1% of it, after at least {@link #WARMUP_ROUNDS}.
     */
    private static int warmUp(java.util.function.LongSupplier round) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean watchJit = jit != null && jit.isCompilationTimeMonitoringSupported();
        long warmStart = System.nanoTime();
        int warmup = 0;
        while (true) {
            long c0 = watchJit ? jit.getTotalCompilationTime() : 0;
            long roundNanos = round.getAsLong(), compileMillis = watchJit ? jit.getTotalCompilationTime() - c0 : 0;
            warmup++;
            boolean quiet = compileMillis * 1_000_000L <= 1_000_000L + roundNanos / 100;
            if (warmup >= WARMUP_ROUNDS && quiet || warmup >= MAX_WARMUP_ROUNDS || System.nanoTime() - warmStart > MAX_WARMUP_NANOS) {
                return warmup;
            }
        }
    }

    /**
     * Two models' decode interleaved token by token in one process, so that a noisy host's slow and fast moments fall on
     * both alike: per round each model's prompt is prefilled, then step k of {@code a} and step k of {@code b} alternate
     * ({@code a} first on even steps, {@code b} on odd), each step timed alone.
     *
     * @param roundRatios per timed round, {@code b}'s decode tokens/s ÷ {@code a}'s (their decode times' inverse ratio)
     */
    public record Paired(Result a, Result b, double[] roundRatios) {
        public double medianRatio() {
            double[] r = roundRatios.clone();
            Arrays.sort(r);
            return r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
        }
    }

    public static Paired paired(TransformerModel a, TransformerModel b, int promptTokens, int decodeTokens, int repeats, long seed) {
        int vocab = Math.min(a.config().vocabSize(), b.config().vocabSize());
        int[] prompt = new SplittableRandom(seed).ints(promptTokens, 0, vocab).toArray();
        InferenceState sa = a.newState(Math.min(a.config().contextLength(), promptTokens + decodeTokens + 1));
        InferenceState sb = b.newState(Math.min(b.config().contextLength(), promptTokens + decodeTokens + 1));
        int warmup = warmUp(() -> { // as run, a round of both
            long[][] t = pairedRound(a, sa, b, sb, prompt, decodeTokens);
            return t[0][0] + t[0][1] + t[1][0] + t[1][1];
        });
        long[][] best = {{Long.MAX_VALUE, Long.MAX_VALUE}, {Long.MAX_VALUE, Long.MAX_VALUE}};
        double[] ratios = new double[Math.max(1, repeats)];
        for (int r = 0; r < ratios.length; r++) {
            long[][] t = pairedRound(a, sa, b, sb, prompt, decodeTokens);
            for (int m = 0; m < 2; m++) {
                best[m][0] = Math.min(best[m][0], t[m][0]);
                best[m][1] = Math.min(best[m][1], t[m][1]);
            }
            ratios[r] = (double) t[0][1] / t[1][1];
        }
        return new Paired(result(a, sa, promptTokens, decodeTokens, best[0], warmup, -1),
                result(b, sb, promptTokens, decodeTokens, best[1], warmup, -1), ratios);
    }

    private static Result result(TransformerModel model, InferenceState s, int promptTokens, int decodeTokens, long[] best, int warmup,
                                 long allocatedPerToken) {
        return new Result(promptTokens, decodeTokens, promptTokens / (best[0] / 1e9), decodeTokens / (best[1] / 1e9),
                weightBytesPerToken(model), s.cacheBytes(), warmup, allocatedPerToken);
    }

    /** One round of {@link #paired}: per model, the prefill's and the decode steps' nanoseconds. */
    private static long[][] pairedRound(TransformerModel a, InferenceState sa, TransformerModel b, InferenceState sb, int[] prompt,
                                        int decodeTokens) {
        long[][] t = new long[2][2];
        sa.reset();
        sb.reset();
        long t0 = System.nanoTime();
        int na = Sampler.argmax(a.forward(sa, prompt, 0, prompt.length));
        long t1 = System.nanoTime();
        int nb = Sampler.argmax(b.forward(sb, prompt, 0, prompt.length));
        t[0][0] = t1 - t0;
        t[1][0] = System.nanoTime() - t1;
        for (int i = 0; i < decodeTokens; i++) {
            for (int k = 0; k < 2; k++) {
                boolean first = (k == 0) == (i % 2 == 0); // a first on even steps
                long s0 = System.nanoTime();
                if (first) {
                    na = a.forwardGreedy(sa, na);
                } else {
                    nb = b.forwardGreedy(sb, nb);
                }
                t[first ? 0 : 1][1] += System.nanoTime() - s0;
            }
        }
        return t;
    }

    /** One prefill of the prompt and greedy decode of {@code decodeTokens}; their nanoseconds, and the bytes allocated while decoding (-1: unknown). */
    private static long[] round(TransformerModel model, InferenceState s, int[] prompt, int decodeTokens) {
        s.reset();
        long t0 = System.nanoTime();
        float[] logits = model.forward(s, prompt, 0, prompt.length);
        long t1 = System.nanoTime();
        int next = Sampler.argmax(logits);
        long a0 = allocatedBytes();
        for (int i = 0; i < decodeTokens; i++) {
            next = model.forwardGreedy(s, next); // as generate decodes greedily: the backend picks the token
        }
        long t2 = System.nanoTime(), a1 = allocatedBytes();
        return new long[] {t1 - t0, t2 - t1, a0 < 0 || a1 < 0 ? -1 : a1 - a0};
    }

    /** Heap bytes allocated so far by all threads (the JVM's per-thread counters), or -1 where the JVM does not count them. */
    private static long allocatedBytes() {
        return ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemoryEnabled()
                ? t.getTotalThreadAllocatedBytes() : -1;
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

package io.nashswarm.eval;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.InferenceState;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;

import java.util.ArrayList;
import java.util.List;

/**
 * Perplexity under two protocols.
 *
 * <p><b>standard</b> — the Hugging Face sliding-window method: the whole text is one token stream;
 * windows of {@code ctx} tokens start every {@code stride} tokens; each window scores only the
 * tokens the previous window did not. With {@code stride < ctx} every token after the first is scored
 * exactly once, with up to {@code ctx - 1} tokens of context (at least {@code ctx - stride}); with
 * {@code stride == ctx} (non-overlapping windows) each window's first token has no context and is
 * not scored, as in the Hugging Face method.
 *
 * <p><b>snippets</b> — the Nash-Swarm seeds' method: each non-empty line is a separate sequence cut
 * to {@code maxTokens} tokens; the result is exp(mean over snippets of the snippet's mean NLL).
 * Short, context-free snippets inflate perplexity several-fold; it is kept only for comparison.
 */
public final class Perplexity {
    private Perplexity() {}

    public static PerplexityResult standard(TransformerModel model, int[] tokens, int ctx, int stride,
                                            String description, Progress progress) {
        if (tokens.length < 2) {
            throw new EngineException(description + ": the text has " + tokens.length + " tokens; need at least 2");
        }
        long t0 = System.nanoTime();
        int vocab = model.config().vocabSize();
        double[] nll = new double[tokens.length];
        Scored scored = scorePositions(model, tokens, ctx, stride, progress,
                (t, logits, off) -> nll[t] = negLogLikelihood(logits, off, vocab, tokens[t]));
        double sum = 0;
        for (double v : nll) {
            sum += v; // in index order, so the result does not depend on the thread count
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new PerplexityResult("standard", description, tokens.length, scored.tokens(), sum / scored.tokens(), ctx, stride,
                scored.windows(), seconds);
    }

    /** Receives the logits that predict {@code tokens[target]} (the array is reused; calls may come from several threads). */
    @FunctionalInterface
    public interface PositionSink {
        void accept(int target, float[] logits, int offset);
    }

    /** How many windows ran and how many tokens they scored. */
    public record Scored(int windows, long tokens) {}

    /**
     * Runs the standard protocol's windows over {@code tokens} and hands the sink, once for every scored
     * token, the logits predicting it. The basis of perplexity and of divergence from a reference model.
     */
    public static Scored scorePositions(TransformerModel model, int[] tokens, int ctx, int stride, Progress progress, PositionSink sink) {
        checkWindows(model, ctx, stride);
        if (tokens.length < 2) {
            throw new EngineException("the text has " + tokens.length + " tokens; need at least 2");
        }
        // Window w covers tokens[begin..end) and scores tokens[first..end), predicted from index t-1-begin.
        List<int[]> windows = new ArrayList<>();
        long scored = 0;
        for (int begin = 0, prevEnd = 0; ; begin += stride) {
            int end = Math.min(begin + ctx, tokens.length);
            int first = Math.max(prevEnd, begin + 1);
            windows.add(new int[] {begin, end, first});
            scored += end - first;
            prevEnd = end;
            if (end == tokens.length) {
                break;
            }
        }
        forEachSegment(model, windows.size(), ctx, (state, w) -> {
            int begin = windows.get(w)[0], end = windows.get(w)[1], first = windows.get(w)[2];
            state.reset();
            model.forward(state, tokens, begin, end - 1 - begin, first - 1 - begin,
                    (i, logits, off) -> sink.accept(begin + i + 1, logits, off));
            progress.step(end - first);
        });
        return new Scored(windows.size(), scored);
    }

    /** Models at most this big run whole segments in parallel rather than splitting each product. */
    static final long SEGMENT_PARALLEL_MAX_BYTES = 32L << 20;

    interface SegmentBody {
        void run(InferenceState state, int segment);
    }

    /**
     * Runs {@code body} for segments 0..count-1, each on a state of {@code capacity}. Small models run
     * segments in parallel with a state per thread (their products are too small to split); large
     * models, and backends that run one sequence at a time, run one segment at a time with every product
     * split across threads.
     */
    static void forEachSegment(TransformerModel model, int count, int capacity, SegmentBody body) {
        if (model.weights().storageBytes() <= SEGMENT_PARALLEL_MAX_BYTES && model.backend().concurrentSequences()) {
            Parallel.forRange(count, 1, (s0, s1) -> {
                InferenceState state = model.newState(capacity);
                for (int s = s0; s < s1; s++) {
                    body.run(state, s);
                }
            });
        } else {
            InferenceState state = model.newState(capacity);
            for (int s = 0; s < count; s++) {
                body.run(state, s);
            }
        }
    }

    /** Longest default window: beyond it the KV cache and the quadratic attention of one window dwarf the model (Llama 3.x: 131072). */
    public static final int MAX_DEFAULT_CTX = 4096;

    /** The window length when none is given: the model's context, at most {@link #MAX_DEFAULT_CTX}. */
    public static int defaultContext(ModelConfig config) {
        return Math.min(config.contextLength(), MAX_DEFAULT_CTX);
    }

    /** Rejects a window length or stride the model cannot run (callers check before starting progress output). */
    public static void checkWindows(TransformerModel model, int ctx, int stride) {
        int max = model.config().contextLength();
        if (ctx < 2 || ctx > max) {
            throw new EngineException("--ctx must be in 2.." + max + " for this model, got " + ctx);
        }
        if (stride < 1 || stride > ctx) {
            throw new EngineException("--stride must be in 1.." + ctx + ", got " + stride);
        }
    }

    public static void checkSnippetLength(TransformerModel model, int maxTokens) {
        if (maxTokens < 2 || maxTokens > model.config().contextLength()) {
            throw new EngineException("--snippet-tokens must be in 2.." + model.config().contextLength() + ", got " + maxTokens);
        }
    }

    /** The seeds' snippet protocol over the given lines (blank ones are skipped). */
    public static PerplexityResult snippets(TransformerModel model, Tokenizer tokenizer, List<String> lines, int maxLines,
                                            int maxTokens, String description, Progress progress) {
        checkSnippetLength(model, maxTokens);
        return snippets(model, snippetTokens(tokenizer, lines, maxLines, maxTokens), maxTokens, description, progress);
    }

    /** The snippet protocol over ready token sequences (each scored alone, from its own first token). */
    public static PerplexityResult snippets(TransformerModel model, List<int[]> snippets, int maxTokens, String description,
                                            Progress progress) {
        checkSnippetLength(model, maxTokens);
        if (snippets.isEmpty()) {
            throw new EngineException(description + ": no snippet has at least 2 tokens");
        }
        long t0 = System.nanoTime();
        int vocab = model.config().vocabSize();
        double[] means = new double[snippets.size()];
        forEachSegment(model, snippets.size(), maxTokens, (state, k) -> {
            int[] ids = snippets.get(k);
            double[] nll = {0};
            state.reset();
            model.forward(state, ids, 0, ids.length - 1, 0, (i, logits, off) -> nll[0] += negLogLikelihood(logits, off, vocab, ids[i + 1]));
            means[k] = nll[0] / (ids.length - 1);
            progress.step(1);
        });
        double sumOfMeans = 0;
        long scored = 0, inText = 0;
        for (int k = 0; k < snippets.size(); k++) {
            sumOfMeans += means[k];
            scored += snippets.get(k).length - 1;
            inText += snippets.get(k).length;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new PerplexityResult("snippets", description, inText, scored, sumOfMeans / snippets.size(), maxTokens, 0, snippets.size(), seconds);
    }

    /** Token ids of each usable snippet: non-blank lines, BOS first if the tokenizer wants it, cut to maxTokens; at least 2 tokens. */
    public static List<int[]> snippetTokens(Tokenizer tokenizer, List<String> lines, int maxLines, int maxTokens) {
        List<int[]> out = new ArrayList<>();
        for (String line : lines) {
            if (out.size() >= maxLines) {
                break;
            }
            if (line.isBlank()) {
                continue;
            }
            int[] ids = withBos(tokenizer, tokenizer.encode(line.strip()));
            if (ids.length > maxTokens) {
                ids = java.util.Arrays.copyOf(ids, maxTokens);
            }
            if (ids.length >= 2) {
                out.add(ids);
            }
        }
        return out;
    }

    /** The whole text as one stream, BOS first if the tokenizer wants it (as Hugging Face's tokenizer call does). */
    public static int[] withBos(Tokenizer tokenizer, int[] ids) {
        if (!tokenizer.addBos() || tokenizer.bos() < 0) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = tokenizer.bos();
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** −log softmax(logits)[target], computed in double with the max subtracted. */
    static double negLogLikelihood(float[] logits, int off, int n, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = off; i < off + n; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        for (int i = off; i < off + n; i++) {
            sum += Math.exp(logits[i] - max);
        }
        return Math.log(sum) - (logits[off + target] - max);
    }
}

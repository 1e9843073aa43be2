package io.nashswarm.eval;

import io.nashswarm.EngineException;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.InferenceState;
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
        checkWindows(model, ctx, stride);
        if (tokens.length < 2) {
            throw new EngineException(description + ": the text has " + tokens.length + " tokens; need at least 2");
        }
        long t0 = System.nanoTime();
        // The windows and the tokens each scores: tokens[first..end) are predicted from window index t-1-begin.
        List<int[]> windows = new ArrayList<>();
        for (int begin = 0, prevEnd = 0; ; begin += stride) {
            int end = Math.min(begin + ctx, tokens.length);
            windows.add(new int[] {begin, end, Math.max(prevEnd, begin + 1)});
            prevEnd = end;
            if (end == tokens.length) {
                break;
            }
        }
        double[] windowNll = new double[windows.size()];
        int vocab = model.config().vocabSize();
        // Small models: whole windows in parallel, one cache per thread (their products are too small to
        // split). Large models: one window at a time, each product split across threads.
        boolean windowParallel = model.weights().storageBytes() <= WINDOW_PARALLEL_MAX_BYTES;
        Parallel.forRange(windowParallel ? windows.size() : 0, 1, (w0, w1) -> {
            InferenceState state = model.newState(ctx);
            for (int w = w0; w < w1; w++) {
                windowNll[w] = scoreWindow(model, state, tokens, windows.get(w), vocab, progress);
            }
        });
        if (!windowParallel) {
            InferenceState state = model.newState(ctx);
            for (int w = 0; w < windows.size(); w++) {
                windowNll[w] = scoreWindow(model, state, tokens, windows.get(w), vocab, progress);
            }
        }
        double nll = 0;
        long scored = 0;
        for (int w = 0; w < windows.size(); w++) {
            nll += windowNll[w];
            scored += windows.get(w)[1] - windows.get(w)[2];
        }
        int windowCount = windows.size();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new PerplexityResult("standard", description, tokens.length, scored, nll / scored, ctx, stride, windowCount, seconds);
    }

    /** Models at most this big run perplexity windows in parallel rather than splitting each product. */
    static final long WINDOW_PARALLEL_MAX_BYTES = 32L << 20;

    /** Sum of the NLLs of the tokens window {@code w = [begin, end, firstTarget]} scores. */
    private static double scoreWindow(TransformerModel model, InferenceState state, int[] tokens, int[] w, int vocab, Progress progress) {
        int begin = w[0], end = w[1], firstTarget = w[2];
        double[] nll = {0};
        state.reset();
        model.forward(state, tokens, begin, end - 1 - begin, firstTarget - 1 - begin,
                (i, logits, off) -> nll[0] += negLogLikelihood(logits, off, vocab, tokens[begin + i + 1]));
        progress.step(end - firstTarget);
        return nll[0];
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
        long t0 = System.nanoTime();
        List<int[]> snippets = snippetTokens(tokenizer, lines, maxLines, maxTokens);
        InferenceState state = model.newState(maxTokens);
        double sumOfMeans = 0;
        long scored = 0, inText = 0;
        for (int[] ids : snippets) {
            state.reset();
            double[] nll = {0};
            model.forward(state, ids, 0, ids.length - 1, 0,
                    (i, logits, off) -> nll[0] += negLogLikelihood(logits, off, model.config().vocabSize(), ids[i + 1]));
            sumOfMeans += nll[0] / (ids.length - 1);
            scored += ids.length - 1;
            inText += ids.length;
            progress.step(1);
        }
        if (snippets.isEmpty()) {
            throw new EngineException(description + ": no line has at least 2 tokens");
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

package io.nashswarm.eval;

/**
 * One perplexity measurement and the protocol that produced it (the protocol moves the number a lot,
 * so it always travels with it).
 *
 * @param protocol     "standard" (sliding window) or "snippets" (the seeds' method)
 * @param tokensScored tokens whose negative log-likelihood entered the mean
 * @param meanNll      nats per token (standard: over all scored tokens; snippets: mean of per-snippet means)
 * @param ctx          window length (standard) or snippet length cap (snippets)
 * @param stride       window stride (standard) or 0
 * @param segments     windows or snippets evaluated
 */
public record PerplexityResult(String protocol, String textDescription, long tokensInText, long tokensScored,
                               double meanNll, int ctx, int stride, int segments, double seconds) {
    public double perplexity() {
        return Math.exp(meanNll);
    }
}

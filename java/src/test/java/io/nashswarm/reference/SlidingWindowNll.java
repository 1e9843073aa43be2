package io.nashswarm.reference;

import java.util.Arrays;
import java.util.function.Function;

/**
 * Hugging Face's sliding-window perplexity ("Perplexity of fixed-length models"), spelled out the
 * way its example code does it: windows of {@code ctx} tokens start at 0, stride, 2·stride, …;
 * a window's labels are masked (−100) except its last {@code end − prevEnd} tokens; the model's
 * internal shift then scores label i+1 from the logits at i, so a window's first token is never a
 * target. Stops after the window that reaches the end of the text.
 */
final class SlidingWindowNll {
    static final int IGNORE = -100;

    record Result(double meanNll, long tokensScored, int windows) {}

    private SlidingWindowNll() {}

    /** @param logits the float64 reference: a window's tokens → its logits at every position */
    static Result of(int[] tokens, int ctx, int stride, Function<int[], double[][]> logits) {
        double nll = 0;
        long count = 0;
        int windows = 0, prevEnd = 0;
        for (int begin = 0; begin < tokens.length; begin += stride) {
            int end = Math.min(begin + ctx, tokens.length);
            int trgLen = end - prevEnd;
            int[] input = Arrays.copyOfRange(tokens, begin, end);
            int[] labels = input.clone();
            Arrays.fill(labels, 0, input.length - trgLen, IGNORE);
            double[][] l = logits.apply(input);
            for (int i = 0; i + 1 < input.length; i++) {
                if (labels[i + 1] != IGNORE) {
                    nll += RefMath.negLogLikelihood(l[i], labels[i + 1]);
                    count++;
                }
            }
            windows++;
            prevEnd = end;
            if (end == tokens.length) {
                break;
            }
        }
        return new Result(nll / count, count, windows);
    }
}

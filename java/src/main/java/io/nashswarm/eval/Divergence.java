package io.nashswarm.eval;

import io.nashswarm.EngineException;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.util.Progress;

/**
 * How far a quantized model's next-token distributions are from a reference model's, on the same
 * windows of the same text: mean KL(P_ref ‖ P_model) per token and how often both pick the same
 * most likely token (llama.cpp's {@code perplexity --kl-divergence} reports the same). Unlike
 * perplexity it does not depend on whether the text suits the model, only on fidelity to it.
 */
public final class Divergence {
    private Divergence() {}

    /**
     * The reference model's log-probabilities at every scored position of {@code tokens}, and the log
     * partition function there ({@code logits = logProbs + logZ}), so its logits need not be kept twice.
     */
    public record Reference(int[] tokens, int ctx, int stride, float[][] logProbs, float[] logZ, int[] argmax, long positions) {}

    /** @param logitsMse mean over positions and vocabulary of (logit − reference logit)² */
    public record Result(long positions, double meanKld, double top1Agreement, double logitsMse) {}

    /** Refuses references that would not fit in memory ({@code tokens × vocab} floats). */
    public static final long MAX_REFERENCE_FLOATS = 1L << 28;

    public static Reference reference(TransformerModel ref, int[] tokens, int ctx, int stride, Progress progress) {
        int vocab = ref.config().vocabSize();
        if ((long) tokens.length * vocab > MAX_REFERENCE_FLOATS) {
            throw new EngineException("a divergence reference of " + tokens.length + " tokens × " + vocab
                    + " logits is too large; use fewer tokens (at most " + MAX_REFERENCE_FLOATS / vocab + ")");
        }
        float[][] logProbs = new float[tokens.length][];
        int[] argmax = new int[tokens.length];
        float[] logZ = new float[tokens.length];
        Perplexity.Scored s = Perplexity.scorePositions(ref, tokens, ctx, stride, progress, (t, logits, off) -> {
            float[] lp = new float[vocab];
            logZ[t] = logSoftmax(logits, off, vocab, lp);
            logProbs[t] = lp;
            argmax[t] = argmax(lp);
        });
        return new Reference(tokens, ctx, stride, logProbs, logZ, argmax, s.tokens());
    }

    public static Result against(TransformerModel model, Reference ref, Progress progress) {
        int vocab = model.config().vocabSize();
        if (ref.logProbs().length == 0 || vocab != firstRow(ref).length) {
            throw new EngineException("the model's vocabulary (" + vocab + ") differs from the reference's");
        }
        double[] kld = new double[ref.tokens().length];
        boolean[] same = new boolean[ref.tokens().length];
        double[] sq = new double[ref.tokens().length];
        Perplexity.scorePositions(model, ref.tokens(), ref.ctx(), ref.stride(), progress, (t, logits, off) -> {
            float[] q = new float[vocab];
            logSoftmax(logits, off, vocab, q);
            float[] p = ref.logProbs()[t];
            double kl = 0, d2 = 0, z = ref.logZ()[t];
            for (int i = 0; i < vocab; i++) {
                kl += Math.exp(p[i]) * (p[i] - q[i]);
                double d = logits[off + i] - (p[i] + z);
                d2 += d * d;
            }
            sq[t] = d2 / vocab;
            kld[t] = Math.max(0, kl); // rounding can make a near-zero KL slightly negative
            same[t] = argmax(q) == ref.argmax()[t];
        });
        double sum = 0, sqSum = 0;
        long agree = 0;
        for (int t = 0; t < kld.length; t++) {
            sum += kld[t];
            sqSum += sq[t];
            agree += same[t] && ref.logProbs()[t] != null ? 1 : 0;
        }
        return new Result(ref.positions(), sum / ref.positions(), (double) agree / ref.positions(), sqSum / ref.positions());
    }

    private static float[] firstRow(Reference ref) {
        for (float[] row : ref.logProbs()) {
            if (row != null) {
                return row;
            }
        }
        throw new EngineException("the divergence reference scored no positions");
    }

    /** Writes log-softmax of {@code logits[off..off+n)} to {@code out}; returns the log partition function. */
    static float logSoftmax(float[] logits, int off, int n, float[] out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[off + i] - max);
        }
        float logZ = (float) (max + Math.log(sum));
        for (int i = 0; i < n; i++) {
            out[i] = logits[off + i] - logZ;
        }
        return logZ;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}

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

    /** The reference model's log-probabilities at every scored position of {@code tokens}. */
    public record Reference(int[] tokens, int ctx, int stride, float[][] logProbs, int[] argmax, long positions) {}

    public record Result(long positions, double meanKld, double top1Agreement) {}

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
        Perplexity.Scored s = Perplexity.scorePositions(ref, tokens, ctx, stride, progress, (t, logits, off) -> {
            float[] lp = new float[vocab];
            logSoftmax(logits, off, vocab, lp);
            logProbs[t] = lp;
            argmax[t] = argmax(lp);
        });
        return new Reference(tokens, ctx, stride, logProbs, argmax, s.tokens());
    }

    public static Result against(TransformerModel model, Reference ref, Progress progress) {
        int vocab = model.config().vocabSize();
        if (ref.logProbs().length == 0 || vocab != firstRow(ref).length) {
            throw new EngineException("the model's vocabulary (" + vocab + ") differs from the reference's");
        }
        double[] kld = new double[ref.tokens().length];
        boolean[] same = new boolean[ref.tokens().length];
        Perplexity.scorePositions(model, ref.tokens(), ref.ctx(), ref.stride(), progress, (t, logits, off) -> {
            float[] q = new float[vocab];
            logSoftmax(logits, off, vocab, q);
            float[] p = ref.logProbs()[t];
            double kl = 0;
            for (int i = 0; i < vocab; i++) {
                kl += Math.exp(p[i]) * (p[i] - q[i]);
            }
            kld[t] = Math.max(0, kl); // rounding can make a near-zero KL slightly negative
            same[t] = argmax(q) == ref.argmax()[t];
        });
        double sum = 0;
        long agree = 0;
        for (int t = 0; t < kld.length; t++) {
            sum += kld[t];
            agree += same[t] && ref.logProbs()[t] != null ? 1 : 0;
        }
        return new Result(ref.positions(), sum / ref.positions(), (double) agree / ref.positions());
    }

    private static float[] firstRow(Reference ref) {
        for (float[] row : ref.logProbs()) {
            if (row != null) {
                return row;
            }
        }
        throw new EngineException("the divergence reference scored no positions");
    }

    static void logSoftmax(float[] logits, int off, int n, float[] out) {
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

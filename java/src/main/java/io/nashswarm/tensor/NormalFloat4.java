package io.nashswarm.tensor;

import org.apache.commons.math3.distribution.NormalDistribution;

/**
 * The NF4 ("4-bit NormalFloat") codebook of QLoRA (Dettmers et al. 2023): sixteen values in [−1, 1]
 * placed at quantiles of the standard normal distribution, with an exact zero.
 *
 * <p>Construction, as in the paper's reference implementation (bitsandbytes {@code create_normal_map}):
 * to get an exact 0 with 16 codes the type is asymmetric: 8 positive values are the normal quantiles at
 * probabilities {@code δ − i·(δ − ½)/8}, i = 0..7, and 7 negative values are the negated quantiles at
 * {@code δ − i·(δ − ½)/7}, i = 0..6, plus 0; all are divided by the largest. The outermost probability
 * {@code δ = ½·((1 − 1/(2·15)) + (1 − 1/(2·16)))} averages the tail offsets of a 15- and a 16-level
 * grid, which keeps ±1 finite.
 */
public final class NormalFloat4 {
    /** The 16 codebook values, ascending; index 7 is 0, index 0 is −1, index 15 is +1. */
    static final float[] CODEBOOK = build();
    /** NF4's codec in the {@link QuantType} table: absmax scale, nearest level. */
    public static final Codec.Codebook CODEC = new Codec.Codebook(CODEBOOK);

    private NormalFloat4() {}

    /** A copy of the codebook, ascending. */
    public static float[] codebook() {
        return CODEBOOK.clone();
    }

    /** Codebook value of code {@code u} (0..15). */
    public static float value(int u) {
        return CODEBOOK[u];
    }

    /** Index of the codebook value nearest to {@code v} (v already divided by the group's absmax). */
    public static int nearest(float v) {
        return CODEC.nearest(v);
    }

    private static float[] build() {
        NormalDistribution n = new NormalDistribution(0, 1);
        double delta = 0.5 * ((1 - 1.0 / (2 * 15)) + (1 - 1.0 / (2 * 16)));
        double[] v = new double[16];
        for (int i = 0; i < 7; i++) {
            v[i] = -n.inverseCumulativeProbability(delta - i * (delta - 0.5) / 7);
        }
        v[7] = 0;
        for (int i = 0; i < 8; i++) {
            v[8 + i] = n.inverseCumulativeProbability(delta - (7 - i) * (delta - 0.5) / 8);
        }
        double max = v[15];
        float[] t = new float[16];
        for (int i = 0; i < 16; i++) {
            t[i] = (float) (v[i] / max);
        }
        return t;
    }
}

package io.nashswarm.model;

import java.util.ArrayList;
import java.util.List;

/**
 * RoPE frequencies: {@code θ^(−2j/headSize) / f_j} for pair j, where the optional per-pair divisors
 * {@code f_j} ({@link ModelConfig#ropeFreqFactors}) come from Llama 3.1's frequency scaling. GGUF files store the
 * divisors as the tensor {@code rope_freqs.weight}; Hugging Face configs give the parameters
 * ({@code rope_scaling} with {@code rope_type "llama3"}), from which {@link #llama3} computes them.
 */
public final class RopeFrequencies {
    private RopeFrequencies() {}

    /** Unscaled inverse frequency of pair j. */
    public static double base(double theta, int headSize, int j) {
        return 1.0 / Math.pow(theta, (2.0 * j) / headSize);
    }

    /** Inverse frequency of pair j with the config's divisors, if any. */
    public static double of(ModelConfig c, int j) {
        double f = base(c.ropeTheta(), c.headSize(), j);
        return c.ropeFreqFactors() == null ? f : f / c.ropeFreqFactors().get(j);
    }

    /**
     * Llama 3.1 scaling as divisors, as llama.cpp's converter writes them: wavelengths shorter than
     * {@code originalContext / highFreqFactor} are kept (1), longer than {@code originalContext / lowFreqFactor}
     * divided by {@code factor}, and those between interpolated between the two in inverse frequency.
     */
    public static List<Float> llama3(double theta, int headSize, double factor, double lowFreqFactor, double highFreqFactor,
                                     int originalContext) {
        double lowWavelen = originalContext / lowFreqFactor, highWavelen = originalContext / highFreqFactor;
        List<Float> divisors = new ArrayList<>(headSize / 2);
        for (int j = 0; j < headSize / 2; j++) {
            double wavelen = 2 * Math.PI / base(theta, headSize, j);
            double d;
            if (wavelen < highWavelen) {
                d = 1;
            } else if (wavelen > lowWavelen) {
                d = factor;
            } else {
                double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                d = 1 / ((1 - smooth) / factor + smooth);
            }
            divisors.add((float) d);
        }
        return List.copyOf(divisors);
    }
}

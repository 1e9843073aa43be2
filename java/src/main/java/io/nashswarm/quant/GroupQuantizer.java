package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.NormalFloat4;

/**
 * Round-to-nearest quantization of one group of weights: the building block of every quantizer and of
 * the bit allocators, which call {@link #squaredError} to price each width for each group.
 *
 * <p>Codes are unsigned, {@code u ∈ [0, 2^bits)}, and dequantize as {@code ŵ = s·(u − z)} with the fp16
 * scale {@code s} exactly as stored.
 * <ul>
 *   <li>Symmetric ({@code z = 2^(bits−1)}): {@code s = −m / 2^(bits−1)}, m the weight of largest
 *       magnitude (llama.cpp's Q4_0 rule): m lands exactly on the extreme code −2^(bits−1), so all
 *       2^bits levels are used, which matters most at 2 bits ({−2,−1,0,1}·s instead of {−1,0,1}·s).
 *       Every weight is within s/2 of its code except those of the opposite sign to m beyond
 *       (2^(bits−1) − ½)·|s|, which clamp (error < |s|).</li>
 *   <li>Asymmetric: the range [min(w, 0), max(w, 0)] (widened to contain 0 so that 0 and all-equal
 *       groups are exact) is split into 2^bits − 1 steps; {@code z} is the integer code of 0. Every
 *       weight is within s/2 of its code.</li>
 * </ul>
 * Scales are rounded to fp16 upwards in magnitude, so the rounding never pushes a weight out of range;
 * a scale beyond the fp16 range is an error. {@link ScaleRule#MSE_SEARCH} additionally tries shrunken
 * scales (13 factors from 1.0 to 0.7, and for symmetric codes also the rule with m on the top code) and
 * keeps the one with the least (importance-weighted) squared error; clipped weights then lose the s/2
 * guarantee in exchange for finer steps.
 */
public final class GroupQuantizer {
    private GroupQuantizer() {}

    /** How a group's scale is chosen. */
    public enum ScaleRule {
        /** Absmax (symmetric) or min/max (asymmetric), closed form. */
        MINMAX,
        /** A small grid search over shrunken scales minimizing the group's squared error. */
        MSE_SEARCH
    }

    /**
     * A quantized group: the stored scale (fp16 value as float), the unsigned zero, and
     * {@code Σ imp·(w − ŵ)²} over the group.
     */
    public record Result(float scale, int zero, double squaredError) {}

    private static final int SEARCH_STEPS = 13;
    private static final float SEARCH_LOW = 0.7f;

    /**
     * Quantizes {@code w[off..off+n)} at {@code bits} (2..8), writing unsigned codes to {@code codes[codeOff..]}.
     *
     * @param imp per-weight importance aligned with {@code w} (read at {@code impOff + i}), or null for 1
     */
    public static Result quantize(float[] w, int off, int n, int bits, boolean asymmetric, ScaleRule rule,
                                  float[] imp, int impOff, int[] codes, int codeOff) {
        checkBits(bits);
        float lo = 0f, hi = 0f, m = 0f;
        for (int i = 0; i < n; i++) {
            float v = w[off + i];
            if (!Float.isFinite(v)) {
                throw new EngineException("cannot quantize a non-finite weight (" + v + ")");
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            if (Math.abs(v) > Math.abs(m)) {
                m = v;
            }
        }
        int top = (1 << bits) - 1, half = 1 << (bits - 1);
        float bestScale = 0f;
        int bestZero = asymmetric ? 0 : half;
        double bestErr = Double.POSITIVE_INFINITY;
        int candidates = rule == ScaleRule.MSE_SEARCH ? SEARCH_STEPS : 1;
        for (int shape = 0; shape < (asymmetric || rule == ScaleRule.MINMAX ? 1 : 2); shape++) {
            for (int c = 0; c < candidates; c++) {
                float f = 1f - c * (1f - SEARCH_LOW) / (SEARCH_STEPS - 1);
                float s;
                int z;
                if (asymmetric) {
                    s = toF16Up((hi - lo) * f / top);
                    z = s == 0f ? 0 : clamp(Math.round(-lo * f / s), 0, top);
                } else {
                    // shape 0: m on code −2^(b−1); shape 1: m on code 2^(b−1) − 1.
                    s = toF16Up(shape == 0 ? -m * f / half : m * f / (half - 1));
                    z = half;
                }
                double err = error(w, off, n, top, s, z, imp, impOff);
                if (err < bestErr) {
                    bestErr = err;
                    bestScale = s;
                    bestZero = z;
                }
            }
        }
        return encode(w, off, n, bits, bestScale, bestZero, imp, impOff, codes, codeOff);
    }

    /** Shrink factors of the candidates GPTQ scores: 1.0 down to 0.5. */
    static final int CANDIDATE_STEPS = Integer.getInteger("gptq.steps", 16);
    static final float CANDIDATE_LOW = Float.parseFloat(System.getProperty("gptq.low", "0.5"));

    /**
     * Candidate (scale, zero) pairs for a group, for a caller that scores them by its own objective (GPTQ):
     * the min/max rule first, then shrunken scales. Symmetric: the largest-magnitude weight m on the bottom
     * code or on the top code, scaled by each factor. Asymmetric (a joint search): for each factor, the range
     * shrunk about its centre, with the zero code that centres it and its two neighbours. Squared-error
     * fields are 0 (not computed).
     */
    public static java.util.List<Result> candidates(float[] w, int off, int n, int bits, boolean asymmetric) {
        checkBits(bits);
        float lo = 0f, hi = 0f, m = 0f;
        for (int i = 0; i < n; i++) {
            float v = w[off + i];
            if (!Float.isFinite(v)) {
                throw new EngineException("cannot quantize a non-finite weight (" + v + ")");
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            if (Math.abs(v) > Math.abs(m)) {
                m = v;
            }
        }
        int top = (1 << bits) - 1, half = 1 << (bits - 1);
        java.util.List<Result> out = new java.util.ArrayList<>(3 * CANDIDATE_STEPS);
        for (int c = 0; c < CANDIDATE_STEPS; c++) {
            float f = 1f - c * (1f - CANDIDATE_LOW) / (CANDIDATE_STEPS - 1);
            if (asymmetric) {
                float s = toF16Up((hi - lo) * f / top);
                if (s == 0f) {
                    out.add(new Result(0f, 0, 0));
                    break;
                }
                float centre = (hi + lo) / 2, low = centre - (hi - lo) * f / 2;
                int zc = Math.round(-low / s);
                for (int z : new int[] {zc, zc - 1, zc + 1}) {
                    if (z >= 0 && z <= top) {
                        out.add(new Result(s, z, 0));
                    }
                }
            } else {
                float s0 = toF16Up(-m * f / half);
                out.add(new Result(s0, half, 0));
                if (s0 == 0f) {
                    break;
                }
                out.add(new Result(toF16Up(m * f / (half - 1)), half, 0));
            }
        }
        return out;
    }

    /** Codes for a given (fp16-representable) scale and unsigned zero, e.g. one scale for a whole tensor. */
    public static Result encode(float[] w, int off, int n, int bits, float scale, int zero,
                                float[] imp, int impOff, int[] codes, int codeOff) {
        checkBits(bits);
        int top = (1 << bits) - 1;
        double err = 0;
        for (int i = 0; i < n; i++) {
            int u = code(w[off + i], scale, zero, top);
            codes[codeOff + i] = u;
            double d = w[off + i] - (double) scale * (u - zero);
            err += (imp == null ? 1.0 : imp[impOff + i]) * d * d;
        }
        return new Result(scale, zero, err);
    }

    /** Squared error of quantizing the group at {@code bits} (what an allocator compares across widths). */
    public static double squaredError(float[] w, int off, int n, int bits, boolean asymmetric, ScaleRule rule, float[] imp, int impOff) {
        return quantize(w, off, n, bits, asymmetric, rule, imp, impOff, new int[n], 0).squaredError();
    }

    /** NF4: absmax scale (fp16, rounded up), nearest codebook index per weight. */
    public static Result nf4(float[] w, int off, int n, float[] imp, int impOff, int[] codes, int codeOff) {
        return codebook(w, off, n, NormalFloat4.CODEC, imp, impOff, codes, codeOff);
    }

    /** NF4 codes for a given scale (per-tensor absmax). */
    public static Result nf4WithScale(float[] w, int off, int n, float s, float[] imp, int impOff, int[] codes, int codeOff) {
        return codebook(w, off, n, NormalFloat4.CODEC, s, imp, impOff, codes, codeOff);
    }

    /** A codebook type ({@link Codec.Codebook}): absmax scale (fp16, rounded up), nearest level per weight. */
    public static Result codebook(float[] w, int off, int n, Codec.Codebook levels, float[] imp, int impOff, int[] codes, int codeOff) {
        return codebook(w, off, n, levels, toF16Up(absmax(w, off, n)), imp, impOff, codes, codeOff);
    }

    /** Codebook codes for a given scale (per-tensor absmax). */
    public static Result codebook(float[] w, int off, int n, Codec.Codebook levels, float s, float[] imp, int impOff, int[] codes, int codeOff) {
        double err = 0;
        for (int i = 0; i < n; i++) {
            int u = s == 0f ? levels.zeroCode() : levels.nearest(w[off + i] / s);
            codes[codeOff + i] = u;
            double d = w[off + i] - (double) s * levels.value(u);
            err += (imp == null ? 1.0 : imp[impOff + i]) * d * d;
        }
        return new Result(s, 0, err);
    }

    /** The largest |w| of {@code w[off..off+n)}; non-finite weights are refused. */
    static float absmax(float[] w, int off, int n) {
        float absmax = 0f;
        for (int i = 0; i < n; i++) {
            float v = w[off + i];
            if (!Float.isFinite(v)) {
                throw new EngineException("cannot quantize a non-finite weight (" + v + ")");
            }
            absmax = Math.max(absmax, Math.abs(v));
        }
        return absmax;
    }

    private static double error(float[] w, int off, int n, int top, float s, int z, float[] imp, int impOff) {
        double err = 0;
        for (int i = 0; i < n; i++) {
            double d = w[off + i] - (double) s * (code(w[off + i], s, z, top) - z);
            err += (imp == null ? 1.0 : imp[impOff + i]) * d * d;
        }
        return err;
    }

    static int code(float v, float s, int z, int top) {
        return s == 0f ? z : clamp(Math.round(v / s) + z, 0, top);
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static void checkBits(int bits) {
        if (bits != 2 && bits != 4 && bits != 8) {
            throw new EngineException("invalid code width " + bits + " (must be 2, 4 or 8)");
        }
    }

    /**
     * The fp16 value nearest to {@code s} that is at least as large in magnitude (so a range computed in
     * float stays covered after storage), as a float.
     *
     * @throws EngineException when {@code |s|} exceeds the largest fp16 (65504)
     */
    public static float toF16Up(float s) {
        short h = Float.floatToFloat16(s);
        float f = Float.float16ToFloat(h);
        if (Math.abs(f) < Math.abs(s)) {
            f = Float.float16ToFloat((short) (h + 1));
        }
        if (Float.isInfinite(f) || Float.isNaN(f)) {
            throw new EngineException("scale " + s + " does not fit fp16 (max 65504): weights too large for this group size and width");
        }
        return f;
    }
}

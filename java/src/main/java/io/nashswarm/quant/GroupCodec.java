package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.QuantType;

/**
 * How a storage type codes one group of weights, split into its three parts so that an algorithm that
 * rounds one weight at a time (GPTQ) can use them: the group's parameters (fp16 scale, zero) from its
 * current weights, the code of one weight, and the value of a code. Rounding every weight of a group
 * with {@link #code} after {@link #params} is exactly what the round-to-nearest quantizers store.
 */
public interface GroupCodec {
    /** Scale and zero of {@code w[off..off+n)} at {@code bits} (the squared error field is not used). */
    GroupQuantizer.Result params(float[] w, int off, int n, int bits);

    /**
     * The same, choosing among candidate parameters by the {@code imp}-weighted squared error (imp aligned with
     * {@code w}, null for 1); codecs with a closed-form rule ignore {@code imp}.
     */
    default GroupQuantizer.Result params(float[] w, int off, int n, int bits, float[] imp) {
        return params(w, off, n, bits);
    }

    /**
     * Candidate parameters for {@code w[off..off+n)}, for a search by an objective the codec cannot see (GPTQ
     * scores each by the output error of rounding the group with compensation). The first is {@link #params}'s
     * closed-form choice; codecs without a search offer only it.
     */
    default java.util.List<GroupQuantizer.Result> candidates(float[] w, int off, int n, int bits) {
        return java.util.List.of(params(w, off, n, bits));
    }

    /** The code of one weight. */
    int code(float v, float scale, int zero, int bits);

    /** The weight a code stands for. */
    double value(int u, float scale, int zero);

    /** Integer codes with min/max scales ({@link GroupQuantizer}), symmetric or with a zero point. */
    static GroupCodec integer(boolean asymmetric) {
        return integer(asymmetric, ScaleRule.MINMAX);
    }

    /** Integer codes whose group scale (and zero) follow {@code rule}: min/max, or the clipping grid search. */
    static GroupCodec integer(boolean asymmetric, ScaleRule rule) {
        return new IntegerCodes(asymmetric, rule);
    }

    /**
     * Integer codes on a uniform grid: {@code code = clamp(round(v / scale) + zero, 0, 2^bits − 1)},
     * {@code value = scale·(code − zero)} (GPTQ's search evaluates these in vector lanes, so the rule is named here).
     */
    record IntegerCodes(boolean asymmetric, ScaleRule rule) implements GroupCodec {
        @Override
        public GroupQuantizer.Result params(float[] w, int off, int n, int bits) {
            return params(w, off, n, bits, null);
        }

        @Override
        public GroupQuantizer.Result params(float[] w, int off, int n, int bits, float[] imp) {
            return GroupQuantizer.quantize(w, off, n, bits, asymmetric, rule, imp, off, new int[n], 0);
        }

        @Override
        public java.util.List<GroupQuantizer.Result> candidates(float[] w, int off, int n, int bits) {
            return GroupQuantizer.candidates(w, off, n, bits, asymmetric);
        }

        @Override
        public int code(float v, float scale, int zero, int bits) {
            return GroupQuantizer.code(v, scale, zero, (1 << bits) - 1);
        }

        @Override
        public double value(int u, float scale, int zero) {
            return (double) scale * (u - zero);
        }
    }

    /** A codebook type (NF4, FP4): absmax scale, nearest level ({@link GroupQuantizer#codebook}). */
    static GroupCodec codebook(Codec.Codebook levels) {
        return new GroupCodec() {
            @Override
            public GroupQuantizer.Result params(float[] w, int off, int n, int bits) {
                return GroupQuantizer.codebook(w, off, n, levels, null, 0, new int[n], 0);
            }

            @Override
            public int code(float v, float scale, int zero, int bits) {
                return scale == 0f ? levels.zeroCode() : levels.nearest(v / scale);
            }

            @Override
            public double value(int u, float scale, int zero) {
                return (double) scale * levels.value(u);
            }
        };
    }

    /** The codec of a packed storage type, by the kind of its table codec (mixed widths are integer groups). */
    static GroupCodec of(QuantType type, boolean asymmetric) {
        return of(type, asymmetric, ScaleRule.MINMAX);
    }

    /** The same with {@code rule} for the integer types' scales (codebooks keep their absmax). */
    static GroupCodec of(QuantType type, boolean asymmetric, ScaleRule rule) {
        return switch (type.codec()) {
            case Codec.IntegerGrid grid -> integer(asymmetric, rule);
            case Codec.Widths widths -> integer(asymmetric, rule);
            case Codec.Codebook levels -> codebook(levels);
            case Codec.Rows rows -> throw new EngineException(type.label() + " has no per-group codec for GPTQ");
        };
    }
}

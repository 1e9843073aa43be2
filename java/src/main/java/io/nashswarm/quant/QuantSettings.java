package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.QuantType;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The parameters of a quantization run (the {@code quantize} options).
 *
 * @param group           requested group size (see {@link GroupRule} for matrices it does not fit)
 * @param asymmetric      integer codes with a zero point per group
 * @param split           Nash-Swarm percentages at 8/4/2 bits
 * @param swarmRadius     radius of the |w| smoothing window ({@link SwarmImportance})
 * @param targetBpw       budget of the target-bpw recipes, bits per matrix weight over the whole model
 * @param embedType       storage of the token/position embeddings and the LM head
 * @param outlierFraction fraction of each mixed matrix's weights kept exactly as fp16 corrections
 * @param fallback        F16 or F32, for matrices no group size fits
 */
public record QuantSettings(int group, boolean asymmetric, NashSplit split, int swarmRadius, double targetBpw,
                            QuantType embedType, double outlierFraction, QuantType fallback) {
    /** Types an embedding or LM head can take. */
    /** Every type whose codec needs no widths (an embedding is quantized uniformly). */
    public static final Set<QuantType> EMBED_TYPES = Arrays.stream(QuantType.values())
            .filter(t -> t.encodable() && !(t.codec() instanceof Codec.Widths)).collect(Collectors.toCollection(() -> EnumSet.noneOf(QuantType.class)));
    private static final String EMBED_LABELS = EMBED_TYPES.stream().map(QuantType::label).collect(Collectors.joining(", "));

    public static QuantSettings defaults() {
        return new QuantSettings(64, false, NashSplit.SEEDS, 1, 3.0, QuantType.INT8, 0, QuantType.F16);
    }

    public QuantSettings {
        new GroupRule(group, fallback); // validates both
        if (swarmRadius < 0) {
            throw new EngineException("--swarm-radius must be >= 0, got " + swarmRadius);
        }
        if (!(targetBpw > 0) || Double.isInfinite(targetBpw)) {
            throw new EngineException("--bpw must be a positive number, got " + targetBpw);
        }
        if (!EMBED_TYPES.contains(embedType)) {
            throw new EngineException("--embed-type " + embedType.label() + " is not supported; choose one of " + EMBED_LABELS);
        }
        if (!(outlierFraction >= 0 && outlierFraction < 0.5)) {
            throw new EngineException("--outliers must be a fraction in [0, 50%), got " + outlierFraction);
        }
    }

    public GroupRule groupRule() {
        return new GroupRule(group, fallback);
    }

    /** Checks that the options make sense for {@code recipe} (e.g. --asym with nf4 is an error, not ignored). */
    public void checkFor(Recipe recipe) {
        if (asymmetric && !recipe.allowsAsymmetric()) {
            throw new EngineException("--asym does not apply to recipe " + recipe.label() + " (its codes are symmetric)");
        }
        if (outlierFraction > 0 && recipe.gptq()) {
            throw new EngineException("--outliers does not apply to GPTQ recipes (" + recipe.label() + ")");
        }
        if (outlierFraction > 0 && !recipe.mixedGroups()) {
            throw new EngineException("--outliers applies to the mixed-group recipes (nash-swarm, nash-swarm-calib, target-bpw, target-bpw-calib), not "
                    + recipe.label());
        }
    }

    /** Parses "0.5%" or "0.005". */
    public static double parseFraction(String s, String option) {
        String t = s.trim();
        try {
            return t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1).trim()) / 100 : Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new EngineException(option + " must be a fraction like 0.005 or a percentage like 0.5%, got '" + s + "'");
        }
    }

    /** An embedding type by label (f32, f16, bf16, q8_0, q4_0, int8, int4, int2, nf4). */
    public static QuantType parseEmbedType(String label) {
        QuantType t = QuantType.byLabel(label.trim()).orElse(null);
        if (t == null || !EMBED_TYPES.contains(t)) {
            throw new EngineException("--embed-type must be one of " + EMBED_LABELS + "; got '" + label + "'");
        }
        return t;
    }

    public static QuantType parseFallback(String label) {
        return switch (label.trim().toLowerCase()) {
            case "f16" -> QuantType.F16;
            case "f32" -> QuantType.F32;
            default -> throw new EngineException("--fallback must be f16 or f32, got '" + label + "'");
        };
    }
}

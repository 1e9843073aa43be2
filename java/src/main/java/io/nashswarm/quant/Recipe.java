package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.QuantType;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The named quantization recipes: the one table of what {@code quantize --recipe} can do. Each row
 * says how the body matrices are quantized; embeddings and the LM head always take
 * {@code --embed-type}, and matrices whose rows no group fits take {@code --fallback}.
 */
public enum Recipe {
    //           label                kind                type                 calibrated
    INT4_TENSOR("int4-tensor", Kind.INT_TENSOR, QuantType.INT4, false,
            "4-bit codes, one scale for the whole tensor (the seeds' strawman)"),
    INT8_CHANNEL("int8-channel", Kind.INT_CHANNEL, QuantType.INT8, false, "8-bit codes, one scale per output row"),
    INT4_CHANNEL("int4-channel", Kind.INT_CHANNEL, QuantType.INT4, false, "4-bit codes, one scale per output row"),
    INT2_CHANNEL("int2-channel", Kind.INT_CHANNEL, QuantType.INT2, false, "2-bit codes, one scale per output row"),
    INT8("int8", Kind.INT_GROUP, QuantType.INT8, false, "8-bit codes, an fp16 scale per group of --group weights"),
    INT4("int4", Kind.INT_GROUP, QuantType.INT4, false, "4-bit codes, an fp16 scale per group"),
    INT2("int2", Kind.INT_GROUP, QuantType.INT2, false, "2-bit codes, an fp16 scale per group"),
    NF4("nf4", Kind.NF4, QuantType.NF4, false, "QLoRA NormalFloat4 codebook, an fp16 absmax scale per group"),
    FP4("fp4", Kind.NF4, QuantType.FP4, false, "bitsandbytes FP4 (sign + e2m1-style magnitude), an fp16 absmax scale per group"),
    Q8_0("q8_0", Kind.GGML, QuantType.Q8_0, false, "llama.cpp Q8_0: blocks of 32, fp16 scale (8.5 bits/weight)"),
    Q4_0("q4_0", Kind.GGML, QuantType.Q4_0, false, "llama.cpp Q4_0: blocks of 32, fp16 scale (4.5 bits/weight)"),
    NASH_SWARM("nash-swarm", Kind.NASH_GROUP, QuantType.MIXED, false,
            "groups ranked by swarm-smoothed |w|: top --nash-split at 8/4/2 bits (default 10/20/70)"),
    NASH_SWARM_WEIGHT("nash-swarm-weight", Kind.NASH_WEIGHT, QuantType.PERWEIGHT, false,
            "the seeds' per-WEIGHT split, stored honestly with a 2-bit width map per weight"),
    NASH_SWARM_CALIB("nash-swarm-calib", Kind.NASH_GROUP, QuantType.MIXED, true,
            "groups ranked by calibrated importance w²·E[x²], same split"),
    TARGET_BPW("target-bpw", Kind.TARGET, QuantType.MIXED, false,
            "widths per group for the least squared weight error at --bpw over the whole model"),
    TARGET_BPW_CALIB("target-bpw-calib", Kind.TARGET, QuantType.MIXED, true,
            "widths per group for the least E[x²]-weighted error (≈ output error) at --bpw"),
    TARGET_BPW_HESS("target-bpw-hess", Kind.TARGET, QuantType.MIXED, true,
            "widths per group for the least output error eᵀ·H·e (the group's block of the calibration Hessian) at --bpw"),
    AWQ_INT4("awq-int4", Kind.AWQ, QuantType.INT4, true,
            "AWQ: input channels scaled by E|x|^α (α per input for the least output error), folded into norms/rows, then 4-bit groups"),
    AWQ_INT2("awq-int2", Kind.AWQ, QuantType.INT2, true, "AWQ scaling, then 2-bit groups"),
    GPTQ_INT8("gptq-int8", Kind.GPTQ, QuantType.INT8, true, "GPTQ: 8-bit groups, rounding error compensated with the calibration Hessian"),
    GPTQ_INT4("gptq-int4", Kind.GPTQ, QuantType.INT4, true, "GPTQ: 4-bit groups"),
    GPTQ_INT2("gptq-int2", Kind.GPTQ, QuantType.INT2, true, "GPTQ: 2-bit groups"),
    GPTQ_NF4("gptq-nf4", Kind.GPTQ, QuantType.NF4, true, "GPTQ with NF4 codes"),
    GPTQ_FP4("gptq-fp4", Kind.GPTQ, QuantType.FP4, true, "GPTQ with FP4 codes"),
    GPTQ_TARGET("gptq-target-bpw", Kind.TARGET, QuantType.MIXED, true,
            "widths per group by output error eᵀ·H·e at --bpw (as target-bpw-hess), then GPTQ rounds them");

    /**
     * How the body matrices are quantized, and which options that method reads.
     *
     * @param grouped    {@code --group} applies
     * @param asymmetric {@code --asym} applies
     * @param nashSplit  {@code --nash-split} (and the swarm radius or calibration) ranks the widths
     */
    public enum Kind {
        //          grouped asymmetric nashSplit
        INT_TENSOR (false,  true,      false),
        INT_CHANNEL(false,  true,      false),
        INT_GROUP  (true,   true,      false),
        NF4        (true,   false,     false),
        GGML       (false,  false,     false),
        NASH_GROUP (true,   true,      true),
        NASH_WEIGHT(true,   false,     true),
        TARGET     (true,   true,      false),
        GPTQ       (true,   true,      false),
        AWQ        (true,   true,      false);

        private final boolean grouped, asymmetric, nashSplit;

        Kind(boolean grouped, boolean asymmetric, boolean nashSplit) {
            this.grouped = grouped;
            this.asymmetric = asymmetric;
            this.nashSplit = nashSplit;
        }
    }

    private final String label;
    private final Kind kind;
    private final QuantType type;
    private final boolean calibrated;
    private final String description;

    Recipe(String label, Kind kind, QuantType type, boolean calibrated, String description) {
        this.label = label;
        this.kind = kind;
        this.type = type;
        this.calibrated = calibrated;
        this.description = description;
    }

    public String label() { return label; }
    public Kind kind() { return kind; }
    /** The storage type of the body matrices (fallback matrices aside). */
    public QuantType type() { return type; }
    /** Needs activation statistics from calibration text. */
    public boolean calibrated() { return calibrated; }
    public String description() { return description; }

    /** Whether the body matrices are rounded by GPTQ (calibration must give full Hessians, not only E[x²]). */
    public boolean gptq() {
        return kind == Kind.GPTQ || this == GPTQ_TARGET;
    }

    /** Whether the calibration must collect Hessians (GPTQ, and the output-error allocator). */
    public boolean needsHessians() {
        return gptq() || this == TARGET_BPW_HESS || kind == Kind.AWQ;
    }

    /**
     * Whether the calibration must hold the Hessians of all layers at once: GPTQ's own recipes collect theirs
     * layer by layer as they quantize ({@link Calibration.LayerHessians}), the others price or search the whole
     * model first.
     */
    public boolean needsAllHessians() {
        return needsHessians() && kind != Kind.GPTQ;
    }

    /** Whether the body matrices are mixed-group matrices (the only ones that can keep outliers). */
    public boolean mixedGroups() {
        return type == QuantType.MIXED;
    }

    /** Whether {@code --group} applies to the body matrices. */
    public boolean grouped() {
        return kind.grouped;
    }

    /** Whether {@code --asym} applies. */
    public boolean allowsAsymmetric() {
        // Codebook types (NF4, FP4) have no zero point, whatever the method.
        return kind.asymmetric && !(type.codec() instanceof Codec.Codebook);
    }

    /** The resolved name recorded in a file's provenance, e.g. "int4-g64", "nash-swarm-10/20/70", "target-3.0bpw". */
    public String provenanceName(QuantSettings s) {
        String asym = s.asymmetric() ? "-asym" : "";
        return switch (kind) {
            case INT_TENSOR, INT_CHANNEL -> label + asym;
            case INT_GROUP, NF4 -> label + "-g" + s.group() + asym;
            case GGML -> label;
            case NASH_GROUP, NASH_WEIGHT -> label.replace("nash-swarm", "nash-swarm-" + s.split()) + "-g" + s.group() + asym;
            case GPTQ, AWQ -> label + "-g" + s.group() + asym;
            case TARGET -> label.replace("bpw", s.targetBpw() + "bpw") + "-g" + s.group() + asym;
        };
    }

    /** Every parameter that shaped the result, for the provenance record. */
    public Map<String, Object> parameters(QuantSettings s) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("recipe", label);
        if (grouped()) {
            p.put("group", s.group());
        }
        if (allowsAsymmetric()) {
            p.put("asymmetric", s.asymmetric());
        }
        if (kind.nashSplit) {
            p.put("nash_split_8_4_2", s.split().toString());
            if (!calibrated) {
                p.put("swarm_radius", s.swarmRadius());
                p.put("importance", "box mean of |w| over (2r+1)x(2r+1), group mean");
            } else {
                p.put("importance", "w^2 * E[x^2], group mean");
            }
        }
        if (kind == Kind.TARGET) {
            p.put("target_bpw", s.targetBpw());
            p.put("error_weight", this == TARGET_BPW_CALIB ? "E[x^2] per input channel" : calibrated ? "e^T H e over the group's block of the Hessian" : "1");
            p.put("allocator", "one width per group column (8+ groups per row) or 16-row tile; greedy over convex-hull steps by dD/dbits (exact Lagrangian)");
        }
        if (mixedGroups()) {
            p.put("outlier_fraction", s.outlierFraction());
        }
        p.put("embed_type", s.embedType().label());
        p.put("fallback", s.fallback().label());
        p.put("scale_rule", gptq() ? "per group when GPTQ reaches it: integer types try 16 shrink factors 1.0-0.5 (symmetric: both extreme codes;"
                + " asymmetric: 3 zeros each) and keep the least GPTQ loss of rounding the group with compensation; codebooks absmax"
                : "minmax (round to nearest)");
        if (kind == Kind.AWQ) {
            p.put("awq", "s = E|x|^alpha / sqrt(max*min), alpha on a grid of 21 in [0,1] per input for the least e^T H e; folded into"
                    + " attn_norm, ffn_norm, up rows (for down), v rows (for attn_output, when not grouped-query)");
        }
        if (gptq()) {
            Gptq.Options o = Gptq.Options.defaults();
            java.util.OptionalDouble alpha = PairedInputs.alpha();
            p.put("gptq", "H = 2 X^T X / n, dampening " + o.damp() + " of mean diag, blocks of " + o.blockSize() + ", no act-order, float64; "
                    + o.polish() + " polish passes (least-squares scale refit in H, coordinate descent on codes); "
                    + (alpha.isPresent() ? "inputs paired layer by layer, X from the original model and X~ from the partly quantized one,"
                            + " loss alpha |WX - W^X~|^2 + (1 - alpha) |WX~ - W^X~|^2, alpha " + alpha.getAsDouble()
                            : "inputs from the original model"));
        }
        return p;
    }

    /**
     * A recipe as named in the issue and in provenance records: a label, optionally with the group
     * ({@code gptq-int4-g64}), the target ({@code gptq-target-3.0bpw}, {@code target-4.0bpw-calib}) and
     * {@code -asym} spelled into it. Absent parts are empty.
     */
    public record Named(Recipe recipe, java.util.OptionalInt group, java.util.OptionalDouble bpw, boolean asym) {}

    public static Named parseName(String name) {
        String n = name.trim().toLowerCase();
        boolean asym = n.endsWith("-asym");
        if (asym) {
            n = n.substring(0, n.length() - 5);
        }
        java.util.OptionalInt group = java.util.OptionalInt.empty();
        java.util.regex.Matcher g = java.util.regex.Pattern.compile("(.+)-g(\\d+)").matcher(n);
        if (g.matches() && find(n).isEmpty()) {
            group = java.util.OptionalInt.of(Integer.parseInt(g.group(2)));
            n = g.group(1);
        }
        java.util.OptionalDouble bpw = java.util.OptionalDouble.empty();
        java.util.regex.Matcher t = java.util.regex.Pattern.compile("(.*target)-(\\d+(?:\\.\\d+)?)bpw(.*)").matcher(n);
        if (t.matches()) {
            bpw = java.util.OptionalDouble.of(Double.parseDouble(t.group(2)));
            n = t.group(1) + "-bpw" + t.group(3);
        }
        String label = n;
        Recipe r = find(label).orElseThrow(() -> new EngineException("unknown recipe '" + name + "'; choose one of: " + labels()
                + " (optionally spelled with -gN, -asym, or target-B.Bbpw, e.g. gptq-int4-g64, gptq-target-3.0bpw)"));
        return new Named(r, group, bpw, asym);
    }

    private static java.util.Optional<Recipe> find(String label) {
        return Arrays.stream(values()).filter(r -> r.label.equalsIgnoreCase(label)).findFirst();
    }

    public static Recipe parse(String label) {
        return Arrays.stream(values()).filter(r -> r.label.equalsIgnoreCase(label)).findFirst()
                .orElseThrow(() -> new EngineException("unknown recipe '" + label + "'; choose one of: " + labels()));
    }

    public static String labels() {
        return Arrays.stream(values()).map(Recipe::label).collect(Collectors.joining(", "));
    }
}

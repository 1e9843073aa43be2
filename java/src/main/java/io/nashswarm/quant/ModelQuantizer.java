package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Quantizes a whole model: source {@link ModelWeights} (any loaded model) and a {@link Recipe} in, a new
 * in-memory {@code ModelWeights} out, with the same config and vectors and every matrix replaced by its
 * quantized form (allocated in an arena the result owns), plus a per-tensor {@link QuantReport}.
 *
 * <p>Roles: the token and position embeddings and the LM head take {@code --embed-type} (a tied head is
 * one matrix, quantized once, under both names); every other matrix takes the recipe. Packed types
 * store rows that are not a multiple of 32 padded with zero weights ({@link PaddedMatrix}); GGML types
 * cannot, and keep such a matrix in {@code --fallback} (see {@link GroupRule}). All of it, padding
 * included, is counted in the report.
 *
 * <p>The budget of the target-bpw recipes is over the matrices (embeddings and head included, tied
 * once): {@code Σ storageBytes·8 / Σ rows·cols}. The norms and biases (float32, well under 1% of a
 * model) are outside the budget and shown beside it in the report.
 */
public final class ModelQuantizer {
    /** Tensors that take {@code --embed-type}. */
    public static final Set<String> EMBEDDINGS = Set.of("token_embd.weight", "position_embd.weight", "output.weight");

    private ModelQuantizer() {}

    /** The quantized weights (close them to free the arena) and what was spent where. */
    public record QuantizedModel(ModelWeights weights, QuantReport report) implements AutoCloseable {
        @Override
        public void close() {
            weights.close();
        }
    }

    /** What one distinct matrix becomes. {@code spec} is null for float and GGML types. */
    /** @param storedCols the row length as stored: {@code src.cols()}, or padded to a multiple of 32 for a packed type */
    private record Plan(List<String> names, WeightMatrix src, boolean embedding, QuantType type, GroupSpec spec, int storedCols,
                        String note) {
        String name() {
            return String.join(" = ", names);
        }

        long weights() {
            return (long) src.rows() * src.cols();
        }

        /** Exact bytes of a uniform (non-mixed) plan, from the type table. */
        long predictedBytes() {
            return type.isPacked() ? type.bytesFor(src.rows(), storedCols, spec) : type.bytesFor(weights());
        }

        /** The rows to quantize, zero-padded to {@link #storedCols}. */
        RowSource rows() {
            return RowSource.padded(RowSource.of(src), storedCols);
        }

        /** The quantized matrix as the model sees it: padded rows are viewed at their real length. */
        WeightMatrix view(WeightMatrix q) {
            return storedCols == src.cols() ? q : PaddedMatrix.of((PackedMatrix) q, src.cols());
        }
    }

    /**
     * @param meanSquares E[x²] per input channel by tensor name (from {@link ActivationStats}); required by
     *                    calibrated recipes, ignored by the others (may be null)
     */
    public static QuantizedModel quantize(ModelWeights src, Recipe recipe, QuantSettings s, Map<String, float[]> meanSquares,
                                          Progress progress) {
        return quantizeCalibrated(src, recipe, s, meanSquares == null ? null : new Calibration(meanSquares, null, null, 0, "given"), progress);
    }

    /**
     * @param calibration activation statistics; required by calibrated recipes, with Hessians for GPTQ, AWQ and the
     *                    output-error allocator (may be null for the others)
     */
    public static QuantizedModel quantizeCalibrated(ModelWeights src, Recipe recipe, QuantSettings s, Calibration calibration, Progress progress) {
        Map<String, float[]> meanSquares = calibration == null ? null : calibration.meanSquares();
        Map<String, Hessian> hessians = calibration == null ? null : calibration.hessians();
        s.checkFor(recipe);
        if (recipe.kind() == Recipe.Kind.AWQ) {
            if (hessians == null || calibration.meanAbs() == null) {
                throw new EngineException("recipe " + recipe.label() + " needs E|x| and the Hessians of every matrix's inputs from calibration text");
            }
            Awq.Search found = Awq.search(src, recipe.type(), s.asymmetric(), s.groupRule(), calibration.meanAbs(), hessians);
            try (ModelWeights folded = Awq.fold(src, found.scales())) {
                return quantize(folded, recipe, s, meanSquares, hessians, null, found.notes(), progress);
            }
        }
        return quantize(src, recipe, s, meanSquares, hessians, calibration == null ? null : calibration.perLayer(), List.of(), progress);
    }

    /** Names of the layer a plan belongs to ("blk.N."), or its own name outside the blocks. */
    private static String layerOf(Plan p) {
        java.util.regex.Matcher m = LayerInputs.LAYER.matcher(p.names().getFirst());
        return m.matches() ? m.group(1) : p.name();
    }

    /**
     * @param perLayer for GPTQ recipes: Hessians collected one layer at a time, each freed before the next is
     *                 collected (then {@code hessians} is not used and may be null); null to use {@code hessians}
     */
    private static QuantizedModel quantize(ModelWeights src, Recipe recipe, QuantSettings s, Map<String, float[]> meanSquares,
                                           Map<String, Hessian> hessians, Calibration.LayerHessians perLayer, List<String> searchNotes,
                                           Progress progress) {
        // GPTQ recipes take their Hessians layer by layer; with paired inputs (PairedInputs) target-bpw's GPTQ does too,
        // its allocator still pricing every group on the original model's Hessians.
        java.util.OptionalDouble alpha = recipe.gptq() && perLayer != null ? PairedInputs.alpha() : java.util.OptionalDouble.empty();
        boolean sequential = perLayer != null && (recipe.kind() == Recipe.Kind.GPTQ || alpha.isPresent());
        if (!recipe.needsHessians() || sequential && recipe.kind() == Recipe.Kind.GPTQ) {
            hessians = null;
        } else if (hessians == null) {
            throw new EngineException("recipe " + recipe.label() + " needs the Hessians of every matrix's inputs from calibration text");
        }
        if (!recipe.calibrated()) {
            meanSquares = null; // uncalibrated recipes must not be steered by statistics they were handed anyway
        }
        if (recipe.calibrated() && meanSquares == null) {
            throw new EngineException("recipe " + recipe.label() + " needs activation statistics from calibration text");
        }
        List<Plan> plans = plan(src, recipe, s);
        if (recipe.calibrated()) {
            for (Plan p : plans) {
                if (p.type() == recipe.type() && !p.embedding() && stats(meanSquares, p) == null) {
                    throw new EngineException("calibration saw no inputs of " + p.name() + "; cannot weigh its errors");
                }
                if (hessians != null && p.type() == recipe.type() && !p.embedding()) {
                    Hessian h = hessian(hessians, p);
                    if (h == null) {
                        throw new EngineException("calibration gave no Hessian for " + p.name());
                    }
                }
            }
        }
        Arena arena = Arena.ofShared();
        try {
            Map<WeightMatrix, WeightMatrix> done = new IdentityHashMap<>();
            List<String> notes = new ArrayList<>(searchNotes);
            Map<String, Hessian> hs = hessians;
            // One factorization per distinct input (q/k/v and gate/up share theirs); dropped as the next input comes.
            Map<Hessian, Gptq.Factor> factors = new LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(Map.Entry<Hessian, Gptq.Factor> eldest) {
                    return size() > 1;
                }
            };
            Target target = recipe.kind() == Recipe.Kind.TARGET ? allocate(plans, recipe, s, meanSquares, hs, notes, progress) : null;
            Map<String, Hessian> layerHessians = null;
            Map<String, PairedInputs.Moments> layerPaired = null;
            String layer = null;
            for (Plan p : plans) {
                boolean compensated = !p.embedding() && p.type() == recipe.type();
                Hessian h = null;
                RowSource rows = null;
                if (sequential && compensated) {
                    if (!layerOf(p).equals(layer)) {
                        layer = layerOf(p);
                        layerHessians = null; // free the previous layer's before collecting the next
                        layerPaired = null;
                        factors.clear();
                        String l = layer;
                        java.util.Set<String> names = new java.util.LinkedHashSet<>();
                        plans.stream().filter(q -> !q.embedding() && q.type() == recipe.type() && layerOf(q).equals(l)).forEach(q -> names.addAll(q.names()));
                        progress.message("calibrating " + layer);
                        // Inputs from both models (PairedInputs): from the partly quantized one alone (sequential GPTQ)
                        // aidreams260K's int2 KLD was 0.564 against 0.558 from the original; blended, 0.482.
                        if (alpha.isPresent()) {
                            Map<String, WeightMatrix> partial = new LinkedHashMap<>();
                            src.matrices().forEach((name, m) -> partial.put(name, done.getOrDefault(m, m)));
                            ModelWeights current = new ModelWeights(src.config(), partial, src.vectors(), null, src.source() + " (partly quantized)");
                            layerPaired = perLayer.paired(src, current, names);
                            layerHessians = new LinkedHashMap<>();
                            for (var e : layerPaired.entrySet()) {
                                layerHessians.put(e.getKey(), e.getValue().hessian());
                            }
                        } else {
                            layerHessians = perLayer.of(src, names);
                        }
                    }
                    h = hessian(layerHessians, p);
                    if (h == null) {
                        throw new EngineException("calibration gave no Hessian for " + p.name());
                    }
                    if (layerPaired != null) {
                        PairedInputs.Moments pm = layerPaired.get(p.names().getFirst()).padded(p.storedCols());
                        rows = pm.target(p.rows(), factors.computeIfAbsent(h, k -> Gptq.factor(k, Gptq.Options.defaults())), alpha.getAsDouble());
                    }
                } else if (hs != null && compensated) {
                    h = hessian(hs, p);
                }
                progress.message(p.names().getFirst());
                done.put(p.src(), quantize(p, recipe, s, stats(meanSquares, p), h, rows, target, factors, arena));
                progress.step(1);
            }
            Map<String, WeightMatrix> matrices = new LinkedHashMap<>();
            src.matrices().forEach((name, m) -> matrices.put(name, done.get(m)));
            ModelWeights out = new ModelWeights(src.config(), matrices, src.vectors(), arena,
                    src.source() + " quantized with " + recipe.provenanceName(s));
            QuantReport report = report(recipe, s, plans, done, src, notes);
            if (target != null && report.matrixBytes() * 8 != target.allocation().totalBits()) {
                // The allocator's exact accounting must be what the matrices really occupy.
                throw new IllegalStateException("allocator counted " + target.allocation().totalBits() + " bits but the matrices occupy "
                        + report.matrixBytes() * 8);
            }
            return new QuantizedModel(out, report);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Progress units {@link #quantize} will report (tensors, plus a pricing pass for target-bpw). */
    public static long progressUnits(ModelWeights src, Recipe recipe) {
        long distinct = src.distinctMatrices().size();
        if (recipe.kind() != Recipe.Kind.TARGET) {
            return distinct;
        }
        long body = src.distinctMatrices().stream().filter(m -> src.matrices().entrySet().stream()
                .noneMatch(e -> e.getValue() == m && EMBEDDINGS.contains(e.getKey()))).count();
        return distinct + body;
    }

    private static float[] stats(Map<String, float[]> meanSquares, Plan p) {
        if (meanSquares == null) {
            return null;
        }
        for (String n : p.names()) {
            float[] m = meanSquares.get(n);
            if (m != null) {
                return m.length == p.storedCols() ? m : Arrays.copyOf(m, p.storedCols()); // padding inputs are always 0
            }
        }
        return null;
    }

    /** The Hessian of a plan's inputs, padded like its rows (padding inputs are always 0); rank-checked. */
    private static Hessian hessian(Map<String, Hessian> hessians, Plan p) {
        for (String n : p.names()) {
            Hessian h = hessians.get(n);
            if (h != null) {
                if (h.cols() != p.src().cols()) {
                    throw new EngineException("the Hessian of " + n + " has " + h.cols() + " columns, the matrix " + p.src().cols());
                }
                h.checkRank(n);
                return h.padded(p.storedCols());
            }
        }
        return null;
    }

    private static List<Plan> plan(ModelWeights src, Recipe recipe, QuantSettings s) {
        Map<WeightMatrix, List<String>> names = new IdentityHashMap<>();
        List<WeightMatrix> order = new ArrayList<>();
        src.matrices().forEach((name, m) -> {
            if (!names.containsKey(m)) {
                order.add(m);
            }
            names.computeIfAbsent(m, k -> new ArrayList<>()).add(name);
        });
        GroupRule rule = s.groupRule();
        List<Plan> plans = new ArrayList<>();
        for (WeightMatrix m : order) {
            List<String> n = names.get(m);
            boolean embedding = n.stream().anyMatch(EMBEDDINGS::contains);
            int cols = m.cols();
            QuantType type = embedding ? s.embedType() : recipe.type();
            // Packed types pad rows to a multiple of 32 with zero weights (PaddedMatrix, counted in the bytes);
            // GGML blocks cannot be padded (GGUF has no such notion), so those matrices fall back.
            int stored = type.isPacked() ? PaddedMatrix.storedCols(cols) : cols;
            GroupSpec spec = null;
            String note = stored != cols ? "rows of " + cols + " padded to " + stored + " with zero weights (counted)" : "";
            OptionalInt g = rule.groupFor(stored);
            boolean fits;
            if (embedding) {
                fits = type.isPacked() ? g.isPresent() : cols % type.blockSize() == 0;
                if (fits && type.isPacked()) {
                    spec = GroupSpec.symmetric(g.getAsInt());
                }
            } else {
                boolean asym = s.asymmetric();
                switch (recipe.kind()) {
                    case INT_TENSOR -> spec = GroupSpec.perTensor(stored, asym);
                    case INT_CHANNEL -> spec = GroupSpec.perChannel(stored, asym);
                    case GGML -> { }
                    default -> spec = g.isPresent() ? new GroupSpec(g.getAsInt(), asym, false) : null;
                }
                fits = type.isPacked() ? spec != null : cols % type.blockSize() == 0;
            }
            if (!fits) {
                note = "row of " + cols + ": no " + type.label() + " block of 32 divides it, kept " + s.fallback().label() + " (--fallback)";
                type = s.fallback();
                spec = null;
                stored = cols;
            } else if (spec != null && !spec.perTensor() && spec.groupSize() != s.group() && spec.groupSize() != stored) {
                note = (note.isEmpty() ? "" : note + "; ") + "group " + spec.groupSize() + ": " + s.group() + " does not divide the row of " + stored;
            }
            plans.add(new Plan(List.copyOf(n), m, embedding, type, spec, stored, note));
        }
        return plans;
    }

    /** The allocator's widths and the outliers it priced, per mixed plan. */
    private record Target(Map<Plan, byte[]> widths, Map<Plan, long[]> outliers, BitAllocator.Allocation allocation) {}

    /** Target-bpw: price every mixed group at 2/4/8 bits, then allocate over the whole model. */
    private static Target allocate(List<Plan> plans, Recipe recipe, QuantSettings s, Map<String, float[]> meanSquares,
                                   Map<String, Hessian> hessians, List<String> notes, Progress progress) {
        List<BitAllocator.Item> items = new ArrayList<>();
        List<Plan> mixed = new ArrayList<>();
        Map<Plan, long[]> kept = new IdentityHashMap<>();
        long fixedBits = 0, weights = 0;
        for (Plan p : plans) {
            weights += p.weights();
            if (p.type() != QuantType.MIXED) {
                fixedBits += 8 * p.predictedBytes();
                if (!p.embedding()) {
                    progress.step(1); // a fallback matrix: nothing to price
                }
                continue;
            }
            progress.message("pricing " + p.names().getFirst());
            float[] ms = stats(meanSquares, p);
            RowSource src = p.rows();
            long[] outliers = Outliers.select(src, s.outlierFraction(), ms);
            double[][] errors = hessians != null
                    ? MixedQuantizer.groupOutputErrors(Outliers.zeroed(src, outliers), p.spec(), hessian(hessians, p))
                    : MixedQuantizer.groupErrors(Outliers.zeroed(src, outliers), p.spec(), ScaleRule.MINMAX, ms);
            items.add(new BitAllocator.Item(p.name(), src.rows(), src.cols(), p.spec(), outliers.length, errors));
            mixed.add(p);
            kept.put(p, outliers);
            progress.step(1);
        }
        BitAllocator.Allocation a = BitAllocator.allocate(items, fixedBits, weights, s.targetBpw());
        notes.add(String.format("allocation: budget %d bits (%.4f bpw × %d matrix weights), spent %d (%.4f bpw); achievable %.4f–%.4f bpw;"
                        + " equilibrium price λ* = %.4g error/bit; estimated Σ error %.6g",
                a.budgetBits(), s.targetBpw(), weights, a.totalBits(), (double) a.totalBits() / weights,
                (double) a.minBits() / weights, (double) a.maxBits() / weights, a.lambda(), a.distortion()));
        Map<Plan, byte[]> out = new IdentityHashMap<>();
        for (int i = 0; i < mixed.size(); i++) {
            out.put(mixed.get(i), a.widths().get(i));
        }
        return new Target(out, kept, a);
    }

    private static WeightMatrix quantize(Plan p, Recipe recipe, QuantSettings s, float[] ms, Hessian h, RowSource rows, Target target,
                                         Map<Hessian, Gptq.Factor> factors, Arena arena) {
        return p.view(recipe.gptq() && !p.embedding() && p.type() == recipe.type() ? gptq(p, h, rows == null ? p.rows() : rows, target, factors, arena)
                : quantizeRows(p, recipe, s, ms, target, arena));
    }

    /** A body matrix of a GPTQ recipe: GPTQ chooses the codes, the usual writer stores them. */
    private static WeightMatrix gptq(Plan p, Hessian h, RowSource src, Target target, Map<Hessian, Gptq.Factor> factors, Arena arena) {
        int g = p.spec().groupSize(), groups = src.cols() / g;
        // Clipping search for each group's scale (GPTQ's "mse" option), weighted by H_jj: at 2 bits it lowers
        // aidreams260K's KLD by 15% against min/max scales.
        GroupCodec codec = GroupCodec.of(p.type(), p.spec().asymmetric(), ScaleRule.MSE_SEARCH);
        byte[] widths = target != null ? target.widths().get(p) : null;
        Gptq.Widths bits = widths != null ? Gptq.Widths.of(widths, groups) : Gptq.Widths.uniform(p.type().codeBits());
        Gptq.Result r = Gptq.quantize(src, factors.computeIfAbsent(h, k -> Gptq.factor(k, Gptq.Options.defaults())), codec, g, bits,
                Progress.none());
        return switch (p.type().codec()) {
            case Codec.IntegerGrid grid -> RtnQuantizer.quantize(src, p.type(), p.spec(), r, arena);
            case Codec.Codebook levels -> RtnQuantizer.codebook(src, p.type(), p.spec(), r, arena);
            case Codec.Widths mixed when p.type() == QuantType.MIXED -> MixedQuantizer.quantize(src, p.spec(), widths, null, r, arena);
            default -> throw new IllegalStateException("GPTQ cannot store " + p.type().label());
        };
    }

    private static WeightMatrix quantizeRows(Plan p, Recipe recipe, QuantSettings s, float[] ms, Target target, Arena arena) {
        RowSource src = p.rows();
        return switch (p.type()) {
            case MIXED -> {
                long[] outliers = target != null ? target.outliers().get(p) : Outliers.select(src, s.outlierFraction(), ms);
                byte[] widths = target != null ? target.widths().get(p) : null;
                if (widths == null) {
                    RowSource kept = Outliers.zeroed(src, outliers);
                    float[] importance = recipe.calibrated()
                            ? CalibratedImportance.groupMeans(kept, ms, p.spec().groupSize())
                            : SwarmImportance.groupMeans(kept, s.swarmRadius(), p.spec().groupSize());
                    widths = s.split().assignTiles(importance, src.rows(), src.cols() / p.spec().groupSize());
                }
                yield MixedQuantizer.quantize(src, p.spec(), widths, outliers, ScaleRule.MINMAX, arena);
            }
            case PERWEIGHT -> PerWeightQuantizer.quantize(src, p.spec(), s.split().assign(SwarmImportance.perWeight(src, s.swarmRadius())),
                    ScaleRule.MINMAX, arena);
            default -> TensorQuantizer.uniform(src, p.type(), p.spec(), arena);
        };
    }

    private static QuantReport report(Recipe recipe, QuantSettings s, List<Plan> plans, Map<WeightMatrix, WeightMatrix> done,
                                      ModelWeights src, List<String> notes) {
        List<QuantReport.Row> rows = new ArrayList<>();
        for (Plan p : plans) {
            WeightMatrix q = done.get(p.src());
            String method = p.note().contains("--fallback") ? "fallback" : p.embedding() ? "embed-type" : recipe.label();
            String role = p.embedding() ? (p.names().size() > 1 ? "embedding+head (tied)" : p.names().getFirst().startsWith("output") ? "head" : "embedding") : "matrix";
            rows.add(QuantReport.Row.of(p.name(), role, method, q, p.note()));
        }
        long vectorFloats = src.vectors().values().stream().mapToLong(v -> v.length).sum();
        return new QuantReport(recipe.provenanceName(s), rows, vectorFloats, notes);
    }
}

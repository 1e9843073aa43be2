package io.nashswarm.eval;

import io.nashswarm.EngineException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.format.packed.PackedModelWriter;
import io.nashswarm.format.packed.Provenance;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.ModelQuantizer;
import io.nashswarm.quant.QuantSettings;
import io.nashswarm.quant.Recipe;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.MemoryStats;
import io.nashswarm.util.Progress;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The honest version of the seeds' comparison: every method quantizes the same model, is written to
 * a real packed file, mapped back, and measured on the same held-out text — file bytes, real
 * bits/weight, resident bytes, perplexity under both protocols, divergence from the original, and
 * decode speed.
 */
public final class Comparison {
    private Comparison() {}

    /**
     * One row: a way to store the model. {@code recipe == null} is the source model as loaded, unless
     * {@code gguf} names a file quantized elsewhere (llama.cpp's Q4_K_M, Q6_K, ... of the same model), which is
     * measured as it is: the engine loads llama.cpp's block types but does not quantize to them.
     */
    public record Method(String spec, Recipe recipe, QuantSettings settings, Path gguf) {
        public boolean baseline() {
            return recipe == null && gguf == null;
        }

        /** The resolved name, e.g. "int4-g64", "target-3.0bpw-calib-g64" or "gguf model-q4_k_m.gguf". */
        public String label() {
            return gguf != null ? "gguf " + gguf.getFileName() : baseline() ? "fp32 (source)" : recipe.provenanceName(settings);
        }

        /**
         * Parses {@code recipe[@gN][@asym][@embed=TYPE][@B]} (B a target bits/weight), {@code fp32} for the source,
         * or {@code gguf=FILE} for a GGUF file of the same model quantized elsewhere. Options not given come from {@code base}.
         */
        public static Method parse(String spec, QuantSettings base) {
            if (spec.trim().startsWith("gguf=")) {
                Path file = Path.of(spec.trim().substring(5));
                if (!java.nio.file.Files.isRegularFile(file)) {
                    throw new EngineException("method '" + spec + "': no such file " + file);
                }
                return new Method(spec, null, base, file);
            }
            String[] parts = spec.trim().split("@");
            if (parts[0].equalsIgnoreCase("fp32") || parts[0].equalsIgnoreCase("source")) {
                if (parts.length > 1) {
                    throw new EngineException("method '" + spec + "': the source model takes no options");
                }
                return new Method(spec, null, base, null);
            }
            Recipe.Named named = Recipe.parseName(parts[0]);
            Recipe r = named.recipe();
            int group = named.group().orElse(base.group());
            boolean asym = base.asymmetric() || named.asym();
            double bpw = named.bpw().orElse(base.targetBpw());
            io.nashswarm.tensor.QuantType embed = base.embedType();
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].toLowerCase();
                try {
                    if (p.startsWith("embed=")) {
                        embed = QuantSettings.parseEmbedType(p.substring(6));
                    } else if (p.matches("g\\d+")) {
                        group = Integer.parseInt(p.substring(1));
                    } else if (p.equals("asym")) {
                        asym = true;
                    } else if (p.matches("\\d+(\\.\\d+)?(bpw)?")) {
                        bpw = Double.parseDouble(p.replace("bpw", ""));
                    } else {
                        throw new NumberFormatException();
                    }
                } catch (NumberFormatException e) {
                    throw new EngineException("method '" + spec + "': cannot read option '" + parts[i]
                            + "' (expected gN, asym, embed=TYPE or a bits/weight target)");
                }
            }
            QuantSettings s = new QuantSettings(group, asym, base.split(), base.swarmRadius(), bpw, embed,
                    base.outlierFraction(), base.fallback());
            s.checkFor(r);
            return new Method(spec, r, s, null);
        }
    }

    /**
     * The rows the issue asks for, in order. The 3.0-bit target takes int4 embeddings: at int8 the tied
     * embedding alone (14% of the tiny models' weights, 31% of GPT-2 124M's) leaves no 3.0-bit solution.
     */
    public static final List<String> DEFAULT_METHODS = List.of("fp32", "int4-tensor", "int4@g64", "int4@g128", "nf4@g64", "int2@g64",
            "nash-swarm", "nash-swarm-weight", "nash-swarm-calib", "target-bpw-calib@3.0@embed=int4", "target-bpw-calib@4.0");

    /**
     * The evaluation data, held out from calibration.
     *
     * @param evalTokens   the standard protocol's token stream
     * @param snippets     the snippet protocol's sequences
     * @param calibTokens  calibration tokens (disjoint from the evaluation text)
     * @param sampled      documents sampled from the source model, or null when the evaluation text already is such text
     */
    public record EvalData(String description, int[] evalTokens, int ctx, int stride, List<int[]> snippets, int[] calibTokens,
                           String calibDescription, int[] sampled, int sampledDocLength, String sampledDescription) {}

    /**
     * Held-out text: calibration from the first fraction of the lines, evaluation (both protocols, windows
     * of {@code ctx} every {@code stride}) on the rest, plus {@code sampledDocs} documents sampled from the
     * source model as in-domain text.
     */
    public static EvalData textData(TransformerModel original, Tokenizer tokenizer, Path file, double calibFraction, int ctx, int stride,
                                    int snippetTokens, int sampledDocs, int docLength, long seed) {
        io.nashswarm.quant.DataSplit split = io.nashswarm.quant.DataSplit.of(file, calibFraction);
        int[] eval = Perplexity.withBos(tokenizer, tokenizer.encode(split.evaluation()));
        List<int[]> snippets = Perplexity.snippetTokens(tokenizer, split.evaluation().lines().toList(), Integer.MAX_VALUE, snippetTokens);
        int[] calib = io.nashswarm.quant.Calibration.tokens(tokenizer, split);
        int start = tokenizer.bos() >= 0 ? tokenizer.bos() : tokenizer.eos();
        List<int[]> docs = SampledText.sample(original, start, sampledDocs, docLength, seed);
        return new EvalData(split.description() + ", evaluation part", eval, ctx, stride, snippets, calib, split.description(),
                SampledText.concat(docs), docLength, sampledDocs + " documents of " + docLength + " tokens sampled from the source model (T=1, seed "
                + seed + "), each scored as its own sequence");
    }

    /**
     * For a model without a tokenizer: documents sampled from the source model are the only text it
     * can be judged on. The first {@code calibFraction} of them calibrate; the rest are evaluated, each
     * document as its own sequence (windows of exactly one document: an unrelated document before it
     * would only confuse a model), and the snippets are each document's first tokens.
     */
    public static EvalData sampledData(TransformerModel original, int startToken, int documents, int docLength, double calibFraction,
                                       int snippetTokens, long seed) {
        io.nashswarm.quant.DataSplit.checkFraction(calibFraction);
        List<int[]> docs = SampledText.sample(original, startToken, documents, docLength, seed);
        int nCalib = (int) Math.round(documents * calibFraction);
        if (nCalib < 1 || nCalib >= documents) {
            throw new EngineException(documents + " sampled documents cannot be split " + calibFraction + " / " + (1 - calibFraction));
        }
        List<int[]> eval = docs.subList(nCalib, documents);
        List<int[]> snippets = eval.stream().map(d -> java.util.Arrays.copyOf(d, Math.min(d.length, snippetTokens))).toList();
        String what = documents + " documents of " + docLength + " tokens sampled from the source model (T=1, seed " + seed + ", start token "
                + startToken + ")";
        return new EvalData(what + ": documents " + (nCalib + 1) + "–" + documents + " (evaluation), each scored as its own sequence",
                SampledText.concat(eval), docLength, docLength, snippets, SampledText.concat(docs.subList(0, nCalib)),
                what + ": documents 1–" + nCalib + " (calibration)", null, 0, null);
    }

    /** Settings of the measurement itself. */
    public record Options(int snippetTokens, int kldTokens, int calibTokens, int decodeTokens, boolean keepFiles) {}

    /** What one method measured; {@code failure} is non-null (and the numbers absent) when the method could not run. */
    public record Row(Method method, String failure, long fileBytes, double bitsPerWeight, long residentBytes, PerplexityResult standard,
                      PerplexityResult snippets, Divergence.Result divergence, PerplexityResult sampled, double decodeTokensPerSecond,
                      double quantizeSeconds, String file) {
        static Row failed(Method m, String why) {
            return new Row(m, why, -1, Double.NaN, -1, null, null, null, null, Double.NaN, Double.NaN, null);
        }
    }

    public static List<Row> run(LoadedModel source, Tokenizer tokenizer, List<Method> methods, EvalData data, Options o, Path workDir,
                                PrintWriter log) {
        TransformerModel original = TransformerModel.create(source.weights());
        Perplexity.checkWindows(original, data.ctx(), data.stride());
        Perplexity.checkSnippetLength(original, o.snippetTokens());
        int[] kldTokens = java.util.Arrays.copyOf(data.evalTokens(), Math.min(data.evalTokens().length,
                (int) Math.min(o.kldTokens(), Divergence.MAX_REFERENCE_FLOATS / original.config().vocabSize())));
        log.printf("reference: %s on %d tokens for the divergence columns%n", methods.getFirst().label(), kldTokens.length);
        log.flush();
        Divergence.Reference reference;
        try (Progress p = Progress.bar("reference", kldTokens.length - 1, "tok")) {
            reference = Divergence.reference(original, kldTokens, data.ctx(), data.stride(), p);
        }
        io.nashswarm.quant.Calibration calibration = null;
        if (methods.stream().anyMatch(m -> m.recipe() != null && m.recipe().calibrated())) {
            boolean hessians = methods.stream().anyMatch(m -> m.recipe() != null && m.recipe().needsAllHessians());
            try (Progress p = Progress.bar("calibrate", Math.min(o.calibTokens(), data.calibTokens().length), "tok")) {
                calibration = io.nashswarm.quant.Calibration.run(source.weights(), data.calibTokens(), o.calibTokens(),
                        data.calibDescription(), hessians, p);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < methods.size(); i++) {
            Method m = methods.get(i);
            log.printf("[%d/%d] %s%n", i + 1, methods.size(), m.label());
            log.flush();
            try {
                rows.add(m.baseline() ? measure(m, source, source.files(), 0, data, reference, o, log)
                        : m.gguf() != null ? loadAndMeasure(m, data, reference, o, log)
                        : quantizeAndMeasure(m, source, tokenizer, calibration, data, reference, o, workDir, log));
            } catch (EngineException e) {
                log.printf("  %s: not measured: %s%n", m.label(), e.getMessage());
                rows.add(Row.failed(m, e.getMessage()));
            }
        }
        return rows;
    }

    /** A GGUF file quantized elsewhere, measured as it is (bits/weight from its real size). */
    private static Row loadAndMeasure(Method m, EvalData data, Divergence.Reference reference, Options o, PrintWriter log) {
        try (LoadedModel file = ModelLoader.loadWeights(m.gguf())) {
            return measure(m, file, List.of(m.gguf()), 0, data, reference, o, log);
        }
    }

    private static Row quantizeAndMeasure(Method m, LoadedModel source, Tokenizer tokenizer, io.nashswarm.quant.Calibration calibration, EvalData data,
                                          Divergence.Reference reference, Options o, Path workDir, PrintWriter log) {
        Path file = workDir.resolve(m.label().replaceAll("[^A-Za-z0-9._-]", "_") + ".nsq");
        long t0 = System.nanoTime();
        try (ModelQuantizer.QuantizedModel q = ModelQuantizer.quantizeCalibrated(source.weights(), m.recipe(), m.settings(),
                calibration, Progress.none())) {
            Provenance provenance = new Provenance(m.recipe().provenanceName(m.settings()), m.recipe().parameters(m.settings()),
                    source.files().isEmpty() ? "" : source.files().getFirst().toString(), "", m.recipe().calibrated() ? data.calibDescription() : null,
                    "nashswarm compare");
            PackedModelWriter.write(q.weights(), tokenizer != null && canStore(tokenizer) ? tokenizer : null, provenance, file, Progress.none());
        }
        double quantizeSeconds = (System.nanoTime() - t0) / 1e9;
        try (LoadedModel packed = ModelLoader.loadWeights(file)) {
            return measure(m, packed, List.of(file), quantizeSeconds, data, reference, o, log);
        } finally {
            if (!o.keepFiles()) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    log.printf("  could not delete %s: %s%n", file, e.getMessage());
                }
            }
        }
    }

    /** Whether the packed file can hold this tokenizer (it needs a GGUF-style description of it). */
    private static boolean canStore(Tokenizer t) {
        try {
            io.nashswarm.tokenizer.GgufTokenizerMetadata.of(t);
            return true;
        } catch (EngineException e) {
            return false;
        }
    }

    private static Row measure(Method m, LoadedModel lm, List<Path> files, double quantizeSeconds, EvalData data,
                               Divergence.Reference reference, Options o, PrintWriter log) {
        TransformerModel model = TransformerModel.create(lm.weights());
        PerplexityResult standard, snippets, sampled = null;
        Divergence.Result div;
        try (Progress p = Progress.bar("  standard", data.evalTokens().length - 1, "tok")) {
            standard = Perplexity.standard(model, data.evalTokens(), data.ctx(), data.stride(), data.description(), p);
        }
        try (Progress p = Progress.bar("  snippets", data.snippets().size(), "snippets")) {
            snippets = Perplexity.snippets(model, data.snippets(), o.snippetTokens(), data.description(), p);
        }
        div = Divergence.against(model, reference, Progress.none());
        if (data.sampled() != null) {
            sampled = Perplexity.standard(model, data.sampled(), data.sampledDocLength(), data.sampledDocLength(), data.sampledDescription(),
                    Progress.none());
        }
        double decode = DecodeBenchmark.run(model, 16, o.decodeTokens(), 3, 11).decodeTokensPerSecond();
        long fileBytes = 0;
        for (Path f : files) {
            fileBytes += size(f);
        }
        long resident = MemoryStats.residentBytesOfMappings(files);
        Row row = new Row(m, null, fileBytes, lm.weights().matrixBitsPerWeight(), resident, standard, snippets, div, sampled, decode, quantizeSeconds,
                files.getFirst().toString());
        log.printf("  %.4f bits/weight, PPL %.3f (standard) %.3f (snippets), KLD %.5f, top-1 %.1f%%, %.1f tok/s%n", row.bitsPerWeight(),
                standard.perplexity(), snippets.perplexity(), div.meanKld(), 100 * div.top1Agreement(), decode);
        log.flush();
        return row;
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

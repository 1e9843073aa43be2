package io.nashswarm.cli;

import io.nashswarm.EngineException;
import io.nashswarm.eval.Divergence;
import io.nashswarm.eval.SampledText;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.Calibration;
import io.nashswarm.quant.DataSplit;
import io.nashswarm.quant.DistortionStudy;
import io.nashswarm.quant.NashSplit;
import io.nashswarm.quant.QuantSettings;
import io.nashswarm.quant.Recipe;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code distortion-study}: does weight MSE predict the layer's output error? Per method and matrix, with correlations and a plot. */
@Command(name = "distortion-study", mixinStandardHelpOptions = true,
        description = {"For every method and body matrix: weight MSE and functional MSE (the layer's output error on calibration inputs,",
                "from the exact Hessian 2·XᵀX/n); Pearson and Spearman correlations of their logs with p-values; NF4 vs FP4 vs int4",
                "against the Gaussian rate-distortion bound; --out writes distortion-study.md and a scatter plot (PNG, SVG)."})
public final class DistortionStudyCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Spec CommandSpec spec;

    @Option(names = "--methods", split = ",", paramLabel = "RECIPE",
            description = "Recipes, named as in compare (default: ${DEFAULT-VALUE}).")
    List<String> methods = List.of("int8-g64", "int4-g64", "nf4-g64", "fp4-g64", "int2-g64", "gptq-int8-g64", "gptq-int4-g64", "gptq-nf4-g64",
            "gptq-int2-g64", "awq-int4-g64", "awq-int2-g64", "target-bpw-calib@3.0@embed=int4", "target-bpw-hess@3.0@embed=int4",
            "gptq-target-3.0bpw@embed=int4");

    @Option(names = {"-f", "--file"}, description = "Calibration text for models with a tokenizer (default: wikitext-2 test, first 10%% of lines).")
    Path file;

    @Option(names = "--calib-tokens", defaultValue = "16384", description = "At most this many calibration tokens (default: ${DEFAULT-VALUE}).")
    int calibTokens;

    @Option(names = "--eval-tokens", defaultValue = "8192",
            description = "Held-out tokens for the logits MSE, KLD and top-1 columns (default: ${DEFAULT-VALUE}).")
    int evalTokens;

    @Option(names = "--out", paramLabel = "DIR", description = "Write distortion-study.md, distortion-scatter.{png,svg} (per matrix) and distortion-methods.{png,svg} into DIR.")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        QuantSettings base = new QuantSettings(64, false, NashSplit.SEEDS, 1, 3.0, QuantType.INT8, 0, QuantType.F16);
        List<Recipe> recipes = new ArrayList<>();
        List<QuantSettings> settings = new ArrayList<>();
        for (String m : methods) {
            io.nashswarm.eval.Comparison.Method parsed = io.nashswarm.eval.Comparison.Method.parse(m, base);
            if (parsed.baseline()) {
                throw new EngineException("distortion-study compares quantized methods; drop '" + m + "'");
            }
            recipes.add(parsed.recipe());
            settings.add(parsed.settings());
        }
        try (LoadedModel lm = modelOptions.load()) {
            TransformerModel model = TransformerModel.create(lm.weights());
            Tokenizer tokenizer = lm.tokenizer().orElse(null);
            if (evalTokens < 2) {
                throw new EngineException("--eval-tokens must be >= 2, got " + evalTokens);
            }
            int[] tokens, heldOutTokens;
            String what, heldOutWhat;
            int len = Math.min(model.config().contextLength(), 512);
            if (tokenizer != null) {
                Path text = file != null ? file : DataSplit.dataRoot().resolve(DataSplit.WIKITEXT);
                DataSplit split = DataSplit.of(text, 0.1);
                tokens = Calibration.tokens(tokenizer, split);
                what = split.description();
                heldOutTokens = io.nashswarm.eval.Perplexity.withBos(tokenizer, tokenizer.encode(split.evaluation()));
                heldOutWhat = "the evaluation part of " + split.description();
            } else {
                int start = model.config().architecture() == Architecture.GPT2 ? 50256 : 1;
                tokens = SampledText.concat(SampledText.sample(model, start, Math.max(1, calibTokens / len), len, 1));
                what = "documents sampled from the model (T=1, seed 1)";
                heldOutTokens = SampledText.concat(SampledText.sample(model, start, Math.max(1, (evalTokens + len - 1) / len), len, 2));
                heldOutWhat = "other documents sampled from the model (T=1, seed 2)";
            }
            heldOutTokens = java.util.Arrays.copyOf(heldOutTokens, Math.min(heldOutTokens.length, evalTokens));
            Calibration cal;
            try (Progress p = Progress.bar("calibrate", Math.min(tokens.length, calibTokens), "tok")) {
                cal = Calibration.run(lm.weights(), tokens, calibTokens, what, true, p);
            }
            Divergence.Reference heldOut;
            try (Progress p = Progress.bar("reference", heldOutTokens.length - 1, "tok")) {
                heldOut = Divergence.reference(model, heldOutTokens, len, len / 2, p);
            }
            DistortionStudy.Study study;
            try (Progress p = Progress.bar("quantize", recipes.size(), "methods")) {
                study = DistortionStudy.measure(lm.weights(), recipes, settings, cal, heldOut, p);
            }
            List<DistortionStudy.Point> points = study.points();
            String md = markdown(modelOptions.model.toString(), cal, heldOutWhat + ", " + heldOutTokens.length + " tokens, windows of " + len
                    + " stride " + len / 2, study);
            stdout.println(md);
            if (out != null) {
                Files.createDirectories(out);
                io.nashswarm.format.AtomicFile.write(out.resolve("distortion-study.md"), ch -> {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(md.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                });
                scatter(out, "distortion-scatter", "Weight MSE vs layer output MSE — " + modelOptions.model.getFileName(),
                        "layer output MSE on calibration inputs", points);
                scatter(out, "distortion-methods", "Per method: weight MSE vs held-out logits MSE — " + modelOptions.model.getFileName(),
                        "logits MSE vs FP32 on held-out text", study.methods().stream()
                                .map(m -> new DistortionStudy.Point(m.method(), "model", m.weightMse(), m.heldOut().logitsMse())).toList());
                stdout.println("wrote distortion-study.md, distortion-scatter.{png,svg} and distortion-methods.{png,svg} in " + out);
            }
        }
        stdout.flush();
        return 0;
    }

    static String markdown(String model, Calibration cal, String heldOut, DistortionStudy.Study study) {
        List<DistortionStudy.Point> points = study.points();
        StringBuilder b = new StringBuilder("# Distortion study: " + model + "\n\n");
        b.append("Calibration: ").append(cal.description()).append(". Functional MSE = mean over outputs of E_t[(e_r·x_t)²] on those inputs ")
                .append("(exact, from H = 2·XᵀX/n). Correlations are of log10 weight MSE against log10 functional MSE; ")
                .append("p-values two-sided (Pearson: Commons Math; Spearman: t on the ranks, n−2 df).\n\n");
        b.append("## Per method\n\nHeld-out text: ").append(heldOut).append(". Weight MSE and layer output MSE are averages over the body ")
                .append("matrices' weights; logits MSE, KLD and top-1 compare the whole quantized model with FP32.\n\n")
                .append("| method | bits/weight | weight MSE | layer output MSE | logits MSE | KLD vs FP32 | top-1 agree |\n")
                .append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (DistortionStudy.MethodRow m : study.methods()) {
            b.append(String.format("| %s | %.3f | %.4g | %.4g | %.4g | %.5f | %.1f%% |%n", m.method(), m.bitsPerWeight(), m.weightMse(),
                    m.functionalMse(), m.heldOut().logitsMse(), m.heldOut().meanKld(), 100 * m.heldOut().top1Agreement()));
        }
        b.append("\n## Correlations\n\n| over | n | Pearson r | p | Spearman ρ | p |\n|---|---:|---:|---:|---:|---:|\n");
        List<DistortionStudy.Correlation> cs = new ArrayList<>(DistortionStudy.acrossMethods(study.methods()));
        cs.add(DistortionStudy.correlate("all methods × all matrices", points));
        Map<String, List<DistortionStudy.Point>> byMethod = new LinkedHashMap<>(), byMatrix = new LinkedHashMap<>();
        for (DistortionStudy.Point p : points) {
            byMethod.computeIfAbsent(p.method(), k -> new ArrayList<>()).add(p);
            byMatrix.computeIfAbsent(p.matrix(), k -> new ArrayList<>()).add(p);
        }
        byMethod.forEach((m, ps) -> cs.add(DistortionStudy.correlate("across matrices, " + m, ps)));
        byMatrix.forEach((m, ps) -> cs.add(DistortionStudy.correlate("across methods, " + m, ps)));
        for (DistortionStudy.Correlation c : cs) {
            b.append(String.format("| %s | %d | %.3f | %s | %.3f | %s |%n", c.over(), c.n(), c.pearson(), p(c.pearsonP()), c.spearman(), p(c.spearmanP())));
        }
        b.append("\n## NF4 vs FP4 vs int4 on Gaussian weights (2^20 N(0,1) samples, groups of 64) against D(R) = σ²·4^(−R)\n\n");
        b.append("| type | real bits/weight | MSE | D(R) | gap (bits) |\n|---|---:|---:|---:|---:|\n");
        for (DistortionStudy.Gaussian g : DistortionStudy.gaussian(1 << 20, 7)) {
            b.append(String.format("| %s | %.3f | %.5g | %.5g | %.3f |%n", g.type(), g.bitsPerWeight(), g.mse(), g.bound(), g.gapBits()));
        }
        b.append("\n## Every method and matrix\n\n| method | matrix | weight MSE | functional MSE |\n|---|---|---:|---:|\n");
        for (DistortionStudy.Point p : points) {
            b.append(String.format("| %s | %s | %.4g | %.4g |%n", p.method(), p.matrix(), p.weightMse(), p.functionalMse()));
        }
        return b.toString();
    }

    /** A p-value; below double rounding of 1 − CDF it is only known to be tiny. */
    private static String p(double p) {
        return p < 1e-15 ? "< 1e-15" : String.format("%.2g", p);
    }

    static void scatter(Path dir, String file, String title, String yTitle, List<DistortionStudy.Point> points) throws java.io.IOException {
        XYChart chart = new XYChartBuilder().width(1000).height(640).title(title).xAxisTitle("weight MSE").yAxisTitle(yTitle).build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setMarkerSize(8);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
        Map<String, List<DistortionStudy.Point>> byMethod = new LinkedHashMap<>();
        for (DistortionStudy.Point p : points) {
            if (p.weightMse() > 0 && p.functionalMse() > 0) {
                byMethod.computeIfAbsent(p.method(), k -> new ArrayList<>()).add(p);
            }
        }
        byMethod.forEach((m, ps) -> chart.addSeries(m, ps.stream().mapToDouble(DistortionStudy.Point::weightMse).toArray(),
                ps.stream().mapToDouble(DistortionStudy.Point::functionalMse).toArray()));
        BitmapEncoder.saveBitmap(chart, dir.resolve(file + ".png").toString(), BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve(file + ".svg").toString(), VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }
}

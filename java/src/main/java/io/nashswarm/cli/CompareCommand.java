package io.nashswarm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.nashswarm.EngineException;
import io.nashswarm.eval.Comparison;
import io.nashswarm.eval.ComparisonReport;
import io.nashswarm.eval.Perplexity;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.DataSplit;
import io.nashswarm.quant.NashSplit;
import io.nashswarm.quant.QuantSettings;
import io.nashswarm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Quantizes a model with every method, writes and maps each packed file, and measures it on held-out text:",
                "file MB, real bits/weight, resident MB, perplexity (standard and the seeds' snippets), divergence from the",
                "original, decode tokens/s. Prints a Markdown table; --out also writes JSON and PPL/KLD-vs-bits plots (PNG, SVG)."})
public final class CompareCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Spec CommandSpec spec;

    @Option(names = {"-f", "--file"}, description = "Evaluation/calibration text (default: ../shared/data/text/wikitext-2-raw/wiki.test.raw). "
            + "Models without a tokenizer are evaluated on text sampled from themselves instead.")
    Path file;

    @Option(names = "--methods", split = ",", paramLabel = "METHOD",
            description = "Rows, each recipe[@gN][@asym][@BPW], fp32, or gguf=FILE: a GGUF of the same model quantized elsewhere"
                    + " (llama.cpp's Q4_K_M, Q6_K, ...; the engine runs those types but does not quantize to them), measured as it is"
                    + " (default: the issue's list: ${DEFAULT-VALUE}).")
    List<String> methods = Comparison.DEFAULT_METHODS;

    @Option(names = "--out", description = "Also write compare.md, compare.json and the plots into this directory.")
    Path out;

    @Option(names = "--calib-fraction", defaultValue = "0.1", description = "Leading share of the text used only for calibration (default: ${DEFAULT-VALUE}).")
    double calibFraction;

    @Option(names = "--calib-tokens", defaultValue = "16384", description = "At most this many calibration tokens (default: ${DEFAULT-VALUE}).")
    int calibTokens;

    @Option(names = "--ctx", description = "Window length (default: the model's context, at most 4096).")
    Integer ctx;

    @Option(names = "--stride", description = "Window stride (default: ctx/2).")
    Integer stride;

    @Option(names = "--snippet-tokens", defaultValue = "64", description = "Snippet length of the seeds' protocol (default: ${DEFAULT-VALUE}).")
    int snippetTokens;

    @Option(names = "--kld-tokens", defaultValue = "32768", description = "Evaluation tokens for the divergence columns (default: ${DEFAULT-VALUE}).")
    int kldTokens;

    @Option(names = "--sample-docs", description = "Documents sampled from the source model (default: 64 with a tokenizer, as extra in-domain text; 128 without one, as the only text).")
    Integer sampleDocs;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the sampled documents (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--decode-tokens", defaultValue = "32", description = "Greedy tokens per decode-speed repeat (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--group", defaultValue = "64", description = "Default group size (default: ${DEFAULT-VALUE}).")
    int group;

    @Option(names = "--embed-type", defaultValue = "int8", description = "Type of embeddings and LM head in every method (default: ${DEFAULT-VALUE}).")
    String embedType;

    @Option(names = "--fallback", defaultValue = "f16", description = "Type of matrices no group size fits (default: ${DEFAULT-VALUE}).")
    String fallback;

    @Option(names = "--nash-split", defaultValue = "10/20/70", description = "Nash-Swarm shares at 8/4/2 bits (default: ${DEFAULT-VALUE}).")
    String nashSplit;

    @Option(names = "--swarm-radius", defaultValue = "1", description = "Nash-Swarm smoothing radius (default: ${DEFAULT-VALUE}).")
    int swarmRadius;

    @Option(names = "--keep-files", description = "Keep the packed files (in --out, else the temp directory).")
    boolean keepFiles;

    @Option(names = "--json", description = "Print JSON on stdout instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter log = spec.commandLine().getErr();
        QuantSettings base = new QuantSettings(group, false, NashSplit.parse(nashSplit), swarmRadius, 3.0,
                QuantSettings.parseEmbedType(embedType), 0, QuantSettings.parseFallback(fallback));
        List<Comparison.Method> rows = methods.stream().map(m -> Comparison.Method.parse(m, base)).toList();
        if (out != null) {
            Files.createDirectories(out);
        }
        Path work = out != null && keepFiles ? out : Files.createTempDirectory("nashswarm-compare");
        try (LoadedModel m = modelOptions.load()) {
            TransformerModel original = TransformerModel.create(m.weights());
            int c = ctx != null ? ctx : Perplexity.defaultContext(original.config());
            int s = stride != null ? stride : Math.max(1, c / 2);
            Tokenizer tokenizer = m.tokenizer().orElse(null);
            Comparison.EvalData data;
            if (tokenizer != null) {
                Path text = file != null ? file : DataSplit.dataRoot().resolve(DataSplit.WIKITEXT);
                if (!Files.exists(text)) {
                    throw new EngineException("evaluation text " + text.toAbsolutePath().normalize() + " not found; pass -f");
                }
                log.printf("evaluation data: %s%n", text);
                data = Comparison.textData(original, tokenizer, text, calibFraction, c, s, snippetTokens, sampleDocs != null ? sampleDocs : 64,
                        Math.min(original.config().contextLength(), 512), seed);
            } else {
                if (file != null) {
                    throw new EngineException(modelOptions.model + " has no tokenizer, so text cannot be evaluated; drop -f (sampled text is used) or pass -t");
                }
                int start = original.config().architecture() == Architecture.GPT2 ? 50256 : 1; // GPT-2 <|endoftext|>, llama2.c BOS
                log.printf("no tokenizer: evaluating on text sampled from the model itself (start token %d)%n", start);
                if (ctx != null || stride != null) {
                    throw new EngineException("--ctx/--stride do not apply to sampled text: each sampled document is scored as one sequence");
                }
                data = Comparison.sampledData(original, start, sampleDocs != null ? sampleDocs : 128, Math.min(original.config().contextLength(), 512),
                        calibFraction, snippetTokens, seed);
            }
            log.flush();
            Comparison.Options options = new Comparison.Options(snippetTokens, kldTokens, calibTokens, decodeTokens, keepFiles);
            List<Comparison.Row> results = Comparison.run(m, tokenizer, rows, data, options, work, log);
            String model = modelOptions.model.toString();
            String table = ComparisonReport.markdown(model, data, options, results);
            Map<String, Object> doc = ComparisonReport.json(model, data, options, results);
            String jsonText = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc);
            if (out != null) {
                Files.writeString(out.resolve("compare.md"), "# Comparison: " + model + "\n\n" + table);
                Files.writeString(out.resolve("compare.json"), jsonText);
                ComparisonReport.plots(out, model, tokenizer != null, results);
                log.printf("wrote compare.md, compare.json, ppl-vs-bpw.{png,svg}, kld-vs-bpw.{png,svg} in %s%n", out);
            }
            stdout.println(json ? jsonText : table);
            stdout.flush();
        } finally {
            if (!(out != null && keepFiles)) {
                try (var files = Files.list(work)) {
                    for (Path p : files.toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(work);
            }
        }
        return 0;
    }
}

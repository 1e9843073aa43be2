package io.nashswarm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.nashswarm.eval.Perplexity;
import io.nashswarm.eval.PerplexityResult;
import io.nashswarm.eval.TextFiles;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.model.Backend;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity of a text file: the standard sliding-window protocol and/or the seeds' 64-token snippet protocol.")
public final class PerplexityCommand implements Callable<Integer> {
    enum Protocol { standard, snippets, both }

    @Mixin ModelOptions modelOptions;
    @Mixin BackendOption backendOption;
    @Spec CommandSpec spec;

    @Option(names = {"-f", "--file"}, required = true, description = "UTF-8 text file (e.g. wiki.test.raw).")
    Path file;

    @Option(names = "--ctx", description = "Window length in tokens (default: the model's context, at most 4096).")
    Integer ctx;

    @Option(names = "--stride", description = "Window stride (default: ctx/2).")
    Integer stride;

    @Option(names = "--protocol", defaultValue = "standard", description = "standard, snippets or both (default: ${DEFAULT-VALUE}).")
    Protocol protocol;

    @Option(names = "--snippet-tokens", defaultValue = "64", description = "Snippet length cap (default: ${DEFAULT-VALUE}).")
    int snippetTokens;

    @Option(names = "--snippet-lines", defaultValue = "2147483647", description = "Use at most this many non-empty lines as snippets (default: all).")
    int snippetLines;

    @Option(names = "--json", description = "Print a JSON summary on stdout instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        String text = TextFiles.readUtf8(file);
        List<PerplexityResult> results = new ArrayList<>();
        try (LoadedModel m = modelOptions.load(); Backend be = backendOption.open()) {
            Tokenizer tokenizer = ModelOptions.requireTokenizer(m, modelOptions.model);
            TransformerModel model = TransformerModel.create(m.weights(), be);
            String desc = file.getFileName().toString();
            if (protocol != Protocol.snippets) {
                int c = ctx != null ? ctx : Perplexity.defaultContext(model.config());
                int s = stride != null ? stride : Math.max(1, c / 2);
                Perplexity.checkWindows(model, c, s);
                int[] ids = Perplexity.withBos(tokenizer, tokenizer.encode(text));
                try (Progress p = Progress.bar("perplexity", ids.length - 1, "tok")) {
                    results.add(Perplexity.standard(model, ids, c, s, desc, p));
                }
            }
            if (protocol != Protocol.standard) {
                Perplexity.checkSnippetLength(model, snippetTokens);
                List<String> lines = text.lines().toList();
                int count = (int) Math.min(snippetLines, lines.stream().filter(l -> !l.isBlank()).count());
                try (Progress p = Progress.bar("snippets", count, "lines")) {
                    results.add(Perplexity.snippets(model, tokenizer, lines, snippetLines, snippetTokens, desc, p));
                }
            }
        }
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (PerplexityResult r : results) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("protocol", r.protocol());
                row.put("file", file.toString());
                row.put("model", modelOptions.model.toString());
                row.put("ctx", r.ctx());
                row.put("stride", r.stride());
                row.put("segments", r.segments());
                row.put("tokens_in_text", r.tokensInText());
                row.put("tokens_scored", r.tokensScored());
                row.put("mean_nll", r.meanNll());
                row.put("perplexity", r.perplexity());
                row.put("seconds", r.seconds());
                rows.add(row);
            }
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(Map.of("results", rows)));
        } else {
            out.println(table(results));
        }
        out.flush();
        return 0;
    }

    static String table(List<PerplexityResult> results) {
        StringBuilder sb = new StringBuilder();
        sb.append("| protocol | ctx | stride | segments | tokens scored | mean NLL | PPL | seconds |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (PerplexityResult r : results) {
            sb.append(String.format("| %s | %d | %s | %d | %d | %.5f | %.4f | %.1f |%n", r.protocol(), r.ctx(),
                    r.stride() == 0 ? "-" : Integer.toString(r.stride()), r.segments(), r.tokensScored(), r.meanNll(), r.perplexity(), r.seconds()));
        }
        return sb.toString().stripTrailing();
    }
}

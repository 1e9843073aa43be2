package io.nashswarm.eval;


import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The comparison as a Markdown table, a JSON document, and PPL/KLD-vs-bits plots (PNG and SVG). */
public final class ComparisonReport {
    private ComparisonReport() {}

    public static String markdown(String model, Comparison.EvalData data, Comparison.Options o, List<Comparison.Row> rows) {
        StringBuilder sb = new StringBuilder();
        Comparison.Row base = baseline(rows);
        sb.append("| method | file MB | bits/weight | resident MB | PPL standard | PPL snippets | ΔPPL % | KLD vs FP32 | top-1 agree | ");
        sb.append(data.sampled() != null ? "PPL on FP32-sampled text | " : "");
        sb.append("decode tok/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        sb.append(data.sampled() != null ? "---:|" : "").append("---:|\n");
        for (Comparison.Row r : rows) {
            if (r.failure() != null) {
                sb.append("| ").append(r.method().label()).append(" | not measured: ").append(r.failure().replace("|", "/")).append(" |\n");
                continue;
            }
            String delta = base == null || base == r ? "—" : String.format("%+.2f", 100 * (r.standard().perplexity() / base.standard().perplexity() - 1));
            sb.append(String.format("| %s | %.3f | %.3f | %s | %.3f | %.3f | %s | %.5f | %.1f%% | ", r.method().label(), r.fileBytes() / 1e6,
                    r.bitsPerWeight(), r.residentBytes() < 0 ? "n/a" : String.format("%.3f", r.residentBytes() / 1e6), r.standard().perplexity(),
                    r.snippets().perplexity(), delta, r.divergence().meanKld(), 100 * r.divergence().top1Agreement()));
            if (data.sampled() != null) {
                sb.append(String.format("%.3f | ", r.sampled().perplexity()));
            }
            sb.append(String.format("%.1f |%n", r.decodeTokensPerSecond()));
        }
        sb.append('\n');
        sb.append("- model: ").append(model).append('\n');
        sb.append("- evaluation text: ").append(data.description()).append(" (").append(data.evalTokens().length).append(" tokens)\n");
        sb.append("- calibration text (calibrated methods only; disjoint from evaluation): ").append(data.calibDescription()).append('\n');
        sb.append(data.ctx() == data.stride() && data.sampled() == null
                ? String.format("- PPL standard: every document scored as one sequence (windows of %d tokens aligned to documents)%n", data.ctx())
                : String.format("- PPL standard: sliding windows of %d tokens, stride %d, every token scored once (Hugging Face method)%n", data.ctx(), data.stride()));
        sb.append(String.format("- PPL snippets: the seeds' protocol, %d sequences each cut to %d tokens and scored without context; exp(mean of per-snippet mean NLL)%n",
                data.snippets().size(), o.snippetTokens()));
        sb.append(String.format("- KLD vs FP32 / top-1 agree: mean KL(P_fp32 ‖ P_method) and argmax agreement over the first %d evaluation tokens, same windows%n",
                rows.stream().filter(r -> r.divergence() != null).mapToLong(r -> r.divergence().positions()).findFirst().orElse(0) + 1));
        if (data.sampled() != null) {
            sb.append("- PPL on FP32-sampled text: standard protocol on ").append(data.sampledDescription()).append('\n');
        }
        sb.append("- bits/weight: every stored byte of every matrix (codes, scales, zeros, maps, outliers, fallback matrices) × 8 / weights; "
                + "file MB and resident MB are measured (Files.size, /proc/self/smaps Rss of the mapped file)\n");
        sb.append(String.format("- decode tok/s: best of 3 × %d greedy tokens after a 16-token prompt%n", o.decodeTokens()));
        return sb.toString();
    }

    public static Map<String, Object> json(String model, Comparison.EvalData data, Comparison.Options o, List<Comparison.Row> rows) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", model);
        root.put("evaluation", data.description());
        root.put("evaluation_tokens", data.evalTokens().length);
        root.put("calibration", data.calibDescription());
        root.put("sampled_text", data.sampledDescription());
        root.put("ctx", data.ctx());
        root.put("stride", data.stride());
        root.put("snippet_tokens", o.snippetTokens());
        root.put("snippets", data.snippets().size());
        Comparison.Row base = baseline(rows);
        root.put("rows", rows.stream().map(r -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", r.method().label());
            m.put("spec", r.method().spec());
            m.put("recipe", r.method().baseline() ? "source" : r.method().gguf() != null ? "gguf" : r.method().recipe().label());
            if (r.failure() != null) {
                m.put("failure", r.failure());
                return m;
            }
            m.put("file_bytes", r.fileBytes());
            m.put("bits_per_weight", r.bitsPerWeight());
            m.put("resident_bytes", r.residentBytes());
            m.put("ppl_standard", r.standard().perplexity());
            m.put("tokens_scored_standard", r.standard().tokensScored());
            m.put("ppl_snippets", r.snippets().perplexity());
            m.put("delta_ppl_percent", base == null ? null : 100 * (r.standard().perplexity() / base.standard().perplexity() - 1));
            m.put("kld_vs_fp32", r.divergence().meanKld());
            m.put("top1_agreement", r.divergence().top1Agreement());
            if (r.sampled() != null) {
                m.put("ppl_fp32_sampled_text", r.sampled().perplexity());
            }
            m.put("decode_tokens_per_second", r.decodeTokensPerSecond());
            m.put("quantize_write_seconds", r.quantizeSeconds());
            return m;
        }).toList());
        return root;
    }

    /**
     * Writes {@code ppl-vs-bpw} and {@code kld-vs-bpw} ({@code .png} and {@code .svg}) into {@code dir}: standard-protocol
     * perplexity and KL divergence from FP32 against real bits/weight.
     */
    public static void plots(Path dir, String model, boolean heldOutText, List<Comparison.Row> rows) throws IOException {
        List<Comparison.Row> measured = rows.stream().filter(r -> r.failure() == null).toList();
        Comparison.Row base = baseline(rows);
        List<Comparison.Row> methods = measured.stream().filter(r -> r != base).toList();
        plots(dir, model, heldOutText,
                methods.stream().map(r -> new BitsPlot.Point(r.method().label(), r.bitsPerWeight(), r.standard().perplexity())).toList(),
                methods.stream().map(r -> new BitsPlot.Point(r.method().label(), r.bitsPerWeight(), r.divergence().meanKld())).toList(),
                base == null ? null : new BitsPlot.Point("fp32", base.bitsPerWeight(), base.standard().perplexity()),
                base == null ? null : new BitsPlot.Point("fp32", base.bitsPerWeight(), base.divergence().meanKld()));
    }

    private static void plots(Path dir, String model, boolean heldOutText, List<BitsPlot.Point> ppl, List<BitsPlot.Point> kld,
                              BitsPlot.Point pplSource, BitsPlot.Point kldSource) throws IOException {
        String name = shortName(model);
        BitsPlot.write(dir, "ppl-vs-bpw", "Perplexity vs bits/weight: " + name,
                "perplexity, standard protocol (" + (heldOutText ? "held-out text" : "model-sampled text") + ")", ppl, pplSource);
        BitsPlot.write(dir, "kld-vs-bpw", "KL divergence from FP32 vs bits/weight: " + name, "mean KL(P_fp32 ‖ P_method), nats", kld, kldSource);
    }

    /** The model's file name without its extension (a Hugging Face directory: its name), for titles. */
    static String shortName(String model) {
        Path file = Path.of(model).getFileName();
        String name = file == null ? model : file.toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    /**
     * Redraws the plots of existing compare result folders from their {@code compare.json}, without measuring
     * again (after a change to the plots): {@code java -cp nashswarm.jar io.nashswarm.eval.ComparisonReport DIR...}.
     */
    public static void main(String[] dirs) throws IOException {
        for (String d : dirs) {
            Path dir = Path.of(d);
            JsonNode doc = new ObjectMapper().readTree(dir.resolve("compare.json").toFile());
            List<BitsPlot.Point> ppl = new ArrayList<>(), kld = new ArrayList<>();
            BitsPlot.Point pplSource = null, kldSource = null;
            for (JsonNode r : doc.get("rows")) {
                if (r.has("failure")) {
                    continue;
                }
                double bits = r.get("bits_per_weight").asDouble();
                if (r.get("recipe").asText().equals("source")) {
                    pplSource = new BitsPlot.Point("fp32", bits, r.get("ppl_standard").asDouble());
                    kldSource = new BitsPlot.Point("fp32", bits, r.get("kld_vs_fp32").asDouble());
                } else {
                    ppl.add(new BitsPlot.Point(r.get("method").asText(), bits, r.get("ppl_standard").asDouble()));
                    kld.add(new BitsPlot.Point(r.get("method").asText(), bits, r.get("kld_vs_fp32").asDouble()));
                }
            }
            // Text data carries FP32-sampled text as an extra; a model without a tokenizer is evaluated on sampled text alone.
            boolean heldOutText = doc.hasNonNull("sampled_text");
            plots(dir, doc.get("model").asText(), heldOutText, ppl, kld, pplSource, kldSource);
            System.out.println("redrew the plots in " + dir);
        }
    }

    private static Comparison.Row baseline(List<Comparison.Row> rows) {
        return rows.stream().filter(r -> r.method().baseline() && r.failure() == null).findFirst().orElse(null);
    }

}

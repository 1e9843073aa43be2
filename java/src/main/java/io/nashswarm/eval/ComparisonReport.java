package io.nashswarm.eval;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

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
            m.put("recipe", r.method().baseline() ? "source" : r.method().recipe().label());
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
     * Writes {@code <name>.png} and {@code <name>.svg}: {@code y} against real bits/weight, one point per
     * method, the FP32 source as a dashed reference line.
     */
    public static void plot(Path dir, String name, String title, String yTitle, boolean logY, List<Comparison.Row> rows,
                            ToDoubleFunction<Comparison.Row> y) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle("real bits/weight (all metadata counted)")
                .yAxisTitle(yTitle).build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setMarkerSize(11);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideE);
        Comparison.Row base = baseline(rows);
        double minX = Double.MAX_VALUE, maxX = 0;
        for (Comparison.Row r : rows) {
            if (r.failure() != null || r == base || !(y.applyAsDouble(r) > 0 || !logY)) {
                continue;
            }
            chart.addSeries(r.method().label(), new double[] {r.bitsPerWeight()}, new double[] {y.applyAsDouble(r)});
            minX = Math.min(minX, r.bitsPerWeight());
            maxX = Math.max(maxX, r.bitsPerWeight());
        }
        if (base != null && minX <= maxX && (y.applyAsDouble(base) > 0 || !logY)) {
            XYSeries line = chart.addSeries("fp32 source (" + String.format("%.1f", base.bitsPerWeight()) + " bits/weight)",
                    new double[] {Math.floor(minX) - 0.25, Math.ceil(maxX) + 0.25}, new double[] {y.applyAsDouble(base), y.applyAsDouble(base)});
            line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            line.setLineStyle(SeriesLines.DASH_DASH);
            line.setMarker(SeriesMarkers.NONE);
        }
        BitmapEncoder.saveBitmap(chart, dir.resolve(name + ".png").toString(), BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, dir.resolve(name + ".svg").toString(), VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }

    private static Comparison.Row baseline(List<Comparison.Row> rows) {
        return rows.stream().filter(r -> r.method().baseline() && r.failure() == null).findFirst().orElse(null);
    }

}

package io.nashswarm.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.format.TensorEntry;
import io.nashswarm.format.packed.PackedFormat;
import io.nashswarm.format.packed.PackedHeader;
import io.nashswarm.format.packed.PackedSummary;
import io.nashswarm.model.ModelConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code inspect -m MODEL [--json]}: what a checkpoint holds, as the loader sees it. For the engine's packed
 * files, each tensor also shows its group spec, effective bits per weight and the bytes of every section
 * (codes, scales, zeros, map, outliers), with totals over the matrices and the whole file.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Shows a model's format, configuration and every tensor (name, type, shape, bytes).")
public final class InspectCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL",
            description = "Hugging Face directory (or safetensors file), GGUF file, or llama2.c checkpoint.")
    Path model;

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    /** Stored bits per element of a tensor, every scale and minimum of its blocks included. */
    private static double bitsPerWeight(TensorEntry t) {
        long n = t.shape().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
        return n == 0 ? 0 : 8.0 * t.bytes() / n;
    }

    @Override
    public void run() {
        try (LoadedModel m = ModelLoader.loadWeights(model)) {
            Map<String, Object> report = report(m);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(toJson(report));
            } else {
                printText(out, m, report);
            }
            out.flush();
        }
    }

    private Map<String, Object> report(LoadedModel m) {
        ModelConfig c = m.weights().config();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", model.toString());
        r.put("format", m.format());
        r.put("architecture", c.architecture().name().toLowerCase());
        r.put("config", configFields(c));
        List<Map<String, Object>> tensors = new ArrayList<>();
        long total = 0;
        for (TensorEntry t : m.tensors()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", t.name());
            if (!t.source().equals(t.name())) {
                e.put("source", t.source());
            }
            e.put("type", t.type());
            e.put("shape", t.shape());
            e.put("bytes", t.bytes());
            e.put("bits_per_weight", bitsPerWeight(t));
            if (t.transposed()) {
                e.put("stored", "[in][out]");
            }
            tensors.add(e);
            total += t.bytes();
        }
        r.put("tensors", tensors);
        r.put("tensor_bytes", total);
        long onDisk = 0;
        List<String> files = new ArrayList<>();
        for (Path f : m.files()) {
            files.add(f.toString());
            onDisk += sizeOf(f);
        }
        r.put("files", files);
        r.put("file_bytes", onDisk);
        Map<String, Object> meta = new LinkedHashMap<>();
        m.metadata().forEach((k, v) -> meta.put(k, v instanceof List<?> l ? "[array of " + l.size() + "]" : v));
        r.put("metadata", meta);
        if (m.format().equals(PackedFormat.FORMAT)) {
            PackedHeader h = PackedHeader.read(m.files().getFirst());
            r.put("tensors", PackedSummary.tensors(h));
            r.put("packed", PackedSummary.totals(h, onDisk));
        }
        return r;
    }

    /** Every component of the configuration record, so a new field shows up without editing this command. */
    private static Map<String, Object> configFields(ModelConfig c) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent rc : ModelConfig.class.getRecordComponents()) {
            try {
                Object v = rc.getAccessor().invoke(c);
                out.put(rc.getName(), v instanceof Enum<?> e ? e.name().toLowerCase() : v);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        out.put("headSize", c.headSize());
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void printText(PrintWriter out, LoadedModel m, Map<String, Object> r) {
        out.printf("model:        %s%n", r.get("model"));
        out.printf("format:       %s%n", r.get("format"));
        out.printf("architecture: %s%n", r.get("architecture"));
        out.println("config:");
        ((Map<String, Object>) r.get("config")).forEach((k, v) -> out.printf("  %-16s %s%n", k, v));
        Map<String, Object> meta = (Map<String, Object>) r.get("metadata");
        if (!meta.isEmpty()) {
            out.printf("metadata (%d):%n", meta.size());
            meta.forEach((k, v) -> out.printf("  %-40s %s%n", k, v));
        }
        if (r.containsKey("packed")) {
            printPacked(out, m, r);
            return;
        }
        int nameWidth = 4, sourceWidth = 6, shapeWidth = 5;
        for (TensorEntry t : m.tensors()) {
            nameWidth = Math.max(nameWidth, t.name().length());
            sourceWidth = Math.max(sourceWidth, t.source().length());
            shapeWidth = Math.max(shapeWidth, t.shape().toString().length());
        }
        String row = "  %-" + nameWidth + "s  %-" + sourceWidth + "s  %-6s  %-" + shapeWidth + "s  %12s  %8s%s%n";
        out.printf("tensors (%d):%n", m.tensors().size());
        out.printf(row, "name", "source", "type", "shape", "bytes", "bits/w", "");
        long matrixWeights = 0, matrixBytes = 0;
        for (TensorEntry t : m.tensors()) {
            out.printf(row, t.name(), t.source().equals(t.name()) ? "" : t.source(), t.type(), t.shape(), t.bytes(),
                    String.format("%.4f", bitsPerWeight(t)), t.transposed() ? "  stored [in][out]" : "");
            if (t.shape().size() == 2) {
                matrixWeights += t.shape().get(0) * t.shape().get(1);
                matrixBytes += t.bytes();
            }
        }
        if (matrixWeights > 0) {
            out.printf("matrices:     %,d weights in %,d bytes = %.4f bits/weight%n", matrixWeights, matrixBytes, 8.0 * matrixBytes / matrixWeights);
        }
        if (m.weights().config().tiedEmbeddings()) {
            out.println("  output.weight is tied to token_embd.weight");
        }
        out.printf("tensor bytes: %d (%.2f MiB)%n", (Long) r.get("tensor_bytes"), (Long) r.get("tensor_bytes") / 1048576.0);
        out.printf("file bytes:   %d in %d file(s)%n", (Long) r.get("file_bytes"), ((List<?>) r.get("files")).size());
    }

    @SuppressWarnings("unchecked")
    private static void printPacked(PrintWriter out, LoadedModel m, Map<String, Object> r) {
        List<Map<String, Object>> tensors = (List<Map<String, Object>>) r.get("tensors");
        int nameWidth = 4, shapeWidth = 5;
        for (Map<String, Object> t : tensors) {
            nameWidth = Math.max(nameWidth, t.get("name").toString().length());
            shapeWidth = Math.max(shapeWidth, t.get("shape").toString().length());
        }
        String row = "  %-" + nameWidth + "s  %-5s  %-15s  %-" + shapeWidth + "s  %12s  %8s  %s%n";
        out.printf("tensors (%d):%n", tensors.size());
        out.printf(row, "name", "type", "group", "shape", "bytes", "bits/w", "sections: bytes (bits/w)");
        for (Map<String, Object> t : tensors) {
            StringBuilder sections = new StringBuilder();
            for (Map<String, Object> s : (List<Map<String, Object>>) t.get("sections")) {
                sections.append(sections.isEmpty() ? "" : ", ").append(s.get("name")).append(' ').append(s.get("bytes"))
                        .append(String.format(" (%.3f)", (Double) s.get("bits_per_weight")));
            }
            if (t.get("mix") instanceof Map<?, ?> mix) {
                sections.append("; ").append(mixLine(mix));
            }
            if (t.containsKey("stored")) {
                sections.append("; stored [in][out]");
            }
            if (t.get("stored_cols") != null) {
                sections.append("; rows padded to ").append(t.get("stored_cols")).append(" with zero weights");
            }
            Object group = t.get("group") instanceof Map<?, ?> g ? g.get("label") : "-";
            out.printf(row, t.get("name"), t.get("type"), group, t.get("shape"), t.get("bytes"),
                    String.format("%.4f", (Double) t.get("bits_per_weight")), sections);
        }
        if (m.weights().config().tiedEmbeddings()) {
            out.println("  output.weight is tied to token_embd.weight (stored once)");
        }
        Map<String, Object> p = (Map<String, Object>) r.get("packed");
        out.println("totals:");
        out.printf("  matrix weights:   %,d (distinct matrices)%n", (Long) p.get("matrix_weights"));
        out.printf("  matrix bytes:     %,d = %.4f bits/weight (codes, scales, zeros, maps, outliers)%n",
                (Long) p.get("matrix_bytes"), (Double) p.get("matrix_bits_per_weight"));
        out.printf("  vector bytes:     %,d (norms and biases, f32)%n", (Long) p.get("vector_bytes"));
        out.printf("  header bytes:     %,d (+ %d-byte preamble)%n", (Long) p.get("header_bytes"), (Long) p.get("preamble_bytes"));
        out.printf("  padding bytes:    %,d (64-byte alignment)%n", (Long) p.get("padding_bytes"));
        out.printf("  file bytes:       %,d = %.4f bits/weight over the matrix weights%n", (Long) p.get("file_bytes"),
                (Double) p.get("file_bits_per_weight"));
        for (String unit : List.of("groups", "weights")) {
            if (p.get("mixed_" + unit) instanceof Map<?, ?> mix) {
                out.printf("  mixed %-11s %s%n", unit + ":", mixLine(mix));
            }
        }
    }

    /** "groups 2/4/8-bit a/b/c, outliers n" (or weights, for per-weight matrices). */
    private static String mixLine(Map<?, ?> mix) {
        String unit = mix.containsKey("weights_2bit") ? "weights" : "groups";
        return String.format("%s 2/4/8-bit %s/%s/%s, outliers %s", unit, mix.get(unit + "_2bit"), mix.get(unit + "_4bit"),
                mix.get(unit + "_8bit"), mix.get("outliers"));
    }

    private static String toJson(Map<String, Object> report) {
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long sizeOf(Path f) {
        try {
            return Files.size(f);
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}

package io.nashswarm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.nashswarm.EngineException;
import io.nashswarm.eval.DecodeBenchmark;
import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.util.MemoryStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** End-to-end decode speed and measured memory, on a real model or on synthetic checkpoints with real shapes. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measures prefill and decode tokens/s, weight bytes streamed per token, and real memory (file, RSS, PSS, heap, mapped).")
public final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, description = "A model to benchmark (any format the engine loads).")
    Path model;

    @Option(names = "--synthetic", paramLabel = "SHAPE", description = "Benchmark random weights with a real model's shapes: gpt2-124m, llama-1b or tiny-llama (default when no -m: gpt2-124m).")
    String synthetic;

    @Option(names = "--type", split = ",", paramLabel = "TYPE", description = "Storage types for --synthetic (comma-separated; default: f32,f16,q8_0,q4_0).")
    List<String> types;

    @Option(names = "--prompt-tokens", defaultValue = "32", description = "Prompt length for the prefill measurement (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = {"-n", "--decode-tokens"}, defaultValue = "32", description = "Tokens to decode per repeat (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--repeats", defaultValue = "3", description = "Timed repeats; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--threads", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--dir", description = "Where synthetic checkpoints are written (default: the temp directory). They are deleted afterwards unless --keep.")
    Path dir;

    @Option(names = "--keep", description = "Keep the synthetic checkpoints.")
    boolean keep;

    @Option(names = "--json", description = "Print a JSON summary on stdout instead of the table.")
    boolean json;

    record Row(String model, String type, long fileBytes, double bitsPerWeight, DecodeBenchmark.Result speed, MemoryStats memory,
               long modelResidentBytes, double loadSeconds) {}

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            Parallel.setThreads(threads);
        }
        if (model != null && synthetic != null) {
            throw new EngineException("give either -m MODEL or --synthetic SHAPE, not both");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Row> rows = new ArrayList<>();
        if (model != null) {
            rows.add(measure(model, model.toString(), err));
        } else {
            SyntheticCheckpoint.Shape shape = SyntheticCheckpoint.Shape.parse(synthetic != null ? synthetic : "gpt2-124m");
            Path where = dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(where);
            for (String t : types != null ? types : List.of("f32", "f16", "q8_0", "q4_0")) {
                QuantType type = QuantType.byLabel(t).orElseThrow(() -> new EngineException("unknown type '" + t + "' for a synthetic checkpoint"));
                Path file = where.resolve("synthetic-" + shape.label() + "-" + type.label() + ".gguf");
                err.printf("writing %s ...%n", file);
                err.flush();
                SyntheticCheckpoint.write(shape, type, 42, file);
                try {
                    rows.add(measure(file, "synthetic " + shape.label(), err));
                } finally {
                    if (!keep) {
                        Files.deleteIfExists(file);
                    }
                }
            }
        }
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(Map.of(
                    "threads", Parallel.threads(), "results", rows.stream().map(BenchCommand::toMap).toList())));
        } else {
            out.println(table(rows));
            out.printf("%nthreads: %d; decode: best of %d repeats of %d tokens after a %d-token prompt. "
                    + "RSS/PSS are the whole process; 'model resident' is the part of the mapped weight file in RAM.%n",
                    Parallel.threads(), repeats, decodeTokens, promptTokens);
        }
        out.flush();
        return 0;
    }

    private Row measure(Path path, String label, PrintWriter err) {
        long t0 = System.nanoTime();
        try (LoadedModel m = ModelLoader.loadWeights(path)) {
            double load = (System.nanoTime() - t0) / 1e9;
            TransformerModel tm = TransformerModel.create(m.weights());
            err.printf("benchmarking %s (%s) ...%n", label, m.format());
            err.flush();
            DecodeBenchmark.Result r = DecodeBenchmark.run(tm, promptTokens, decodeTokens, repeats, 7);
            MemoryStats mem = MemoryStats.now();
            long resident = 0, fileBytes = 0;
            for (Path f : m.files()) {
                fileBytes += size(f);
                long rb = MemoryStats.residentBytesOfMapping(f);
                resident = rb < 0 || resident < 0 ? -1 : resident + rb;
            }
            double weights = 0, bytes = 0;
            for (var w : m.weights().distinctMatrices()) {
                weights += (double) w.rows() * w.cols();
                bytes += w.storageBytes();
            }
            String types = m.weights().distinctMatrices().stream().map(w -> w.type().label()).distinct().sorted()
                    .reduce((a, b) -> a + "+" + b).orElse("-");
            return new Row(label, types, fileBytes, 8 * bytes / weights, r, mem, resident, load);
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | type | file MB | bits/weight | weight MB/token | prefill tok/s | decode tok/s | ms/token | weight GB/s | model resident MB | RSS MB | PSS MB | heap MB | KV cache MB | load s |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            var s = r.speed();
            sb.append(String.format("| %s | %s | %s | %.3f | %s | %.1f | %.2f | %.1f | %.2f | %s | %s | %s | %s | %s | %.2f |%n",
                    r.model(), r.type(), MemoryStats.mib(r.fileBytes()), r.bitsPerWeight(), MemoryStats.mib(s.weightBytesPerToken()),
                    s.prefillTokensPerSecond(), s.decodeTokensPerSecond(), s.msPerToken(), s.decodeGBps(),
                    MemoryStats.mib(r.modelResidentBytes()), MemoryStats.mib(r.memory().rssBytes()), MemoryStats.mib(r.memory().pssBytes()),
                    MemoryStats.mib(r.memory().heapUsedBytes()), MemoryStats.mib(s.kvCacheBytes()), r.loadSeconds()));
        }
        return sb.toString().stripTrailing();
    }

    private static Map<String, Object> toMap(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        var s = r.speed();
        m.put("model", r.model());
        m.put("type", r.type());
        m.put("file_bytes", r.fileBytes());
        m.put("bits_per_weight", r.bitsPerWeight());
        m.put("weight_bytes_per_token", s.weightBytesPerToken());
        m.put("prefill_tokens_per_second", s.prefillTokensPerSecond());
        m.put("decode_tokens_per_second", s.decodeTokensPerSecond());
        m.put("ms_per_token", s.msPerToken());
        m.put("decode_weight_gb_per_second", s.decodeGBps());
        m.put("model_resident_bytes", r.modelResidentBytes());
        m.put("rss_bytes", r.memory().rssBytes());
        m.put("pss_bytes", r.memory().pssBytes());
        m.put("heap_used_bytes", r.memory().heapUsedBytes());
        m.put("kv_cache_bytes", s.kvCacheBytes());
        m.put("load_seconds", r.loadSeconds());
        return m;
    }
}

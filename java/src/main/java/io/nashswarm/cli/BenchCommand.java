package io.nashswarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.nashswarm.EngineException;
import io.nashswarm.eval.Comparison;
import io.nashswarm.eval.DecodeBenchmark;
import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.format.packed.PackedModelWriter;
import io.nashswarm.format.packed.Provenance;
import io.nashswarm.kernel.MemoryBandwidth;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.Backend;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.ModelQuantizer;
import io.nashswarm.quant.QuantSettings;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.util.MemoryStats;
import io.nashswarm.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;

/** End-to-end decode speed and measured memory, on a real model or on synthetic checkpoints with real shapes. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures prefill and decode tokens/s, the weight bytes a decode step streams (as GB/s and as a share of",
                "this machine's memory bandwidth, measured in the same run), and real memory: file, RSS, PSS, heap, mapped.",
                "Synthetic rows each run in a fresh JVM, so RSS and PSS belong to that model alone."})
public final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-m", "--model"}, description = "A model to benchmark (any format the engine loads).")
    Path model;

    @Option(names = "--against", paramLabel = "FILE", description = {"With -m: a second model in the same JVM, its decode steps",
            "alternating with -m's token by token, so that a noisy machine's slow moments fall on both; reports both rows and",
            "the ratio of their decode speeds per round."})
    Path against;

    @Option(names = "--synthetic", paramLabel = "SHAPE", description = "Random weights with a real model's shapes: gpt2-124m, gpt2-xl (1.5B), llama-1b, llama2-7b or tiny-llama (default when no -m: gpt2-124m).")
    String synthetic;

    @Option(names = "--type", split = ",", paramLabel = "TYPE", description = {"Rows for --synthetic: a stored type (f32, f16, bf16, q8_0, q4_0) or a quantization",
            "method as in compare (e.g. int8, int4@g128, nash-swarm, target-bpw@3.0@embed=int4), quantized from the f32 checkpoint.",
            "Default: f32,f16,q8_0,q4_0."})
    List<String> types;

    @Option(names = "--prompt-tokens", defaultValue = "32", description = "Prompt length for the prefill measurement (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = {"-n", "--decode-tokens"}, defaultValue = "32", description = "Tokens to decode per repeat (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--repeats", defaultValue = "3", description = "Timed repeats; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Mixin BackendOption backendOption;

    @Option(names = "--threads", description = "Worker threads (default: all cores).")
    Integer threads;

    @Option(names = "--dir", description = "Where synthetic checkpoints are written (default: the temp directory). They are deleted afterwards unless --keep.")
    Path dir;

    @Option(names = "--keep", description = "Keep the synthetic checkpoints.")
    boolean keep;

    @Option(names = "--no-bandwidth", description = "Skip the memory bandwidth measurement.")
    boolean noBandwidth;

    @Option(names = "--json", description = "Print a JSON summary on stdout instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            Parallel.setThreads(threads);
        }
        if (model != null && synthetic != null) {
            throw new EngineException("give either -m MODEL or --synthetic SHAPE, not both");
        }
        if (against != null && model == null) {
            throw new EngineException("--against FILE pairs a second model with -m MODEL; give -m too");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Backend check = backendOption.open()) {
            // fails here, before gigabytes of synthetic checkpoints are written, when the backend cannot run
        }
        // Measured before any model runs: afterwards the read loop shares JIT profiles with the mapped
        // weight segments and compiled 40% slower (17-19 GB/s where a fresh JVM measures 31-33).
        MemoryBandwidth.Result bw = noBandwidth ? null : MemoryBandwidth.measure(MemoryBandwidth.DEFAULT_BYTES, 5);
        List<Map<String, Object>> rows = new ArrayList<>();
        if (model != null && against != null) {
            rows.addAll(measurePaired(model, against, err));
        } else if (model != null) {
            rows.add(measure(model, model.toString(), err));
        } else {
            SyntheticCheckpoint.Shape shape = SyntheticCheckpoint.Shape.parse(synthetic != null ? synthetic : "gpt2-124m");
            List<String> wanted = types != null ? types : List.of("f32", "f16", "q8_0", "q4_0");
            // Parse every row before the long work starts, so a typo fails at once.
            List<Object> plans = wanted.stream().<Object>map(t -> QuantType.byLabel(t).filter(q -> q.ggmlId() >= 0).isPresent()
                    ? QuantType.byLabel(t).orElseThrow() : Comparison.Method.parse(t, QuantSettings.defaults())).toList();
            Path where = dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"));
            Files.createDirectories(where);
            Path f32 = null;
            try {
                for (int i = 0; i < plans.size(); i++) {
                    Object plan = plans.get(i);
                    Path file;
                    if (plan instanceof QuantType type) {
                        file = where.resolve("synthetic-" + shape.label() + "-" + type.label() + ".gguf");
                        err.printf("[%d/%d] writing %s ...%n", i + 1, plans.size(), file);
                        err.flush();
                        SyntheticCheckpoint.write(shape, type, 42, file);
                    } else {
                        Comparison.Method m = (Comparison.Method) plan;
                        if (m.recipe() == null) {
                            throw new EngineException("bench --type " + wanted.get(i) + ": --type takes storage types and recipes;"
                                    + " bench a GGUF file (llama.cpp's Q4_K_M, ...) with -m FILE");
                        }
                        if (f32 == null) {
                            f32 = where.resolve("synthetic-" + shape.label() + "-f32-source.gguf");
                            err.printf("writing the f32 source %s ...%n", f32);
                            err.flush();
                            SyntheticCheckpoint.write(shape, QuantType.F32, 42, f32);
                        }
                        file = where.resolve("synthetic-" + shape.label() + "-" + wanted.get(i).replaceAll("[^A-Za-z0-9._-]", "_") + ".nsq");
                        err.printf("[%d/%d] quantizing %s -> %s ...%n", i + 1, plans.size(), m.label(), file);
                        err.flush();
                        quantize(f32, m, file);
                    }
                    try {
                        // A recipe row names the type of its embedding and LM head (tied in GPT-2), which --type does not
                        // quantize with the body: e.g. int2 keeps an int8 head unless it says int2@embed=int2.
                        String head = plan instanceof Comparison.Method m ? " (embed/head " + m.settings().embedType().label() + ")" : "";
                        rows.add(measureInChild(file, "synthetic " + shape.label() + " " + wanted.get(i) + head, err));
                        err.printf("  backend after the run: %s%n", rows.getLast().get("backend")); // device memory, graph timings
                        // the row's numbers at once: a run stopped by a time limit before the table keeps its finished rows
                        Map<String, Object> done = rows.getLast();
                        ToDoubleFunction<String> num = k -> done.get(k) instanceof Number v ? v.doubleValue() : Double.NaN;
                        err.printf("  measured: decode %.2f tok/s, prefill %.1f tok/s, %.1f MB of weights a token, RSS %.1f MB%n",
                                num.applyAsDouble("decode_tokens_per_second"), num.applyAsDouble("prefill_tokens_per_second"),
                                num.applyAsDouble("weight_bytes_per_token") / 1e6, num.applyAsDouble("rss_bytes") / 1e6);
                        err.flush();
                    } finally {
                        if (!keep) {
                            Files.deleteIfExists(file);
                        }
                    }
                }
            } finally {
                if (f32 != null && !keep) {
                    Files.deleteIfExists(f32);
                }
            }
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("threads", Parallel.threads());
            if (bw != null) {
                doc.put("bandwidth_copy_gb_per_second", bw.copyGBps());
                doc.put("bandwidth_read_gb_per_second", bw.readGBps());
            }
            doc.put("results", rows);
            if (paired != null) {
                doc.put("against_decode_ratios", paired.roundRatios());
                doc.put("against_decode_ratio_median", paired.medianRatio());
            }
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
        } else {
            out.println(table(rows, bw));
            out.printf("%nthreads: %d; decode: best of %d repeats of %d tokens after a %d-token prompt, after untimed rounds (at least 2) until the JIT compiler is quiet%s.%n"
                            + "weight GB/s = weight bytes streamed per decode step × tokens/s%s. RSS/PSS: the whole process%s; heap: live objects after a GC; "
                            + "'model resident' = the mapped weight file's pages in RAM (/proc/self/smaps) plus the off-heap copies the kernels read (bit planes: int2 g32, int4 g32, mixed in 16-row tiles, ggml Q4_1/Q5_0/Q5_1; plane rows: int2 g64, mixed per column's 2-bit part; byte rows: int8, int4 g64, mixed per column's 8-/4-bit parts, ggml Q8_0/Q4_0/Q2_K–Q6_K).%n",
                    Parallel.threads(), repeats, decodeTokens, promptTokens, warmupNote(rows),
                    bw == null ? "" : String.format("; %% BW = that / the read bandwidth measured in this run (%s)", bw),
                    model == null ? ", each row in its own JVM" : against != null ? ", with both models loaded" : "");
            for (Map<String, Object> r : rows) {
                if (r.get("decode_allocated_bytes_per_token") instanceof Number a && a.longValue() > DecodeBenchmark.BOXED_BYTES_PER_TOKEN) {
                    out.printf("warning: %s allocated %.1f KB a decoded token: the JIT compiled some of its kernels' vector operations as calls on "
                                    + "boxed vectors in that JVM, so its decode speed is below what the kernels do; run it again (README › bench)%n",
                            r.get("model"), a.longValue() / 1024.0);
                }
            }
            if (paired != null) {
                out.printf("decode steps alternating in one JVM: %s ÷ %s decode tok/s per round %s, median %.3f (each row's tok/s is its best round)%n",
                        against.getFileName(), model.getFileName(), java.util.Arrays.stream(paired.roundRatios()).mapToObj(x -> String.format("%.3f", x)).toList(),
                        paired.medianRatio());
            }
        }
        out.flush();
        return 0;
    }

    private static void quantize(Path f32, Comparison.Method m, Path target) {
        try (LoadedModel src = ModelLoader.loadWeights(f32);
             ModelQuantizer.QuantizedModel q = ModelQuantizer.quantize(src.weights(), m.recipe(), m.settings(), null, Progress.none())) {
            Provenance p = new Provenance(m.label(), m.recipe().parameters(m.settings()), f32.toString(), "", null, "nashswarm bench");
            PackedModelWriter.write(q.weights(), null, p, target, Progress.none());
        }
    }

    /** Measures {@code file} in a fresh JVM running this same command, so its RSS and PSS are its own. */
    private Map<String, Object> measureInChild(Path file, String label, PrintWriter err) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench", "-m", file.toString(), "--json",
                "--no-bandwidth", "--prompt-tokens", Integer.toString(promptTokens), "-n", Integer.toString(decodeTokens),
                "--repeats", Integer.toString(repeats), "--threads", Integer.toString(Parallel.threads()), "--backend", backendOption.backend,
                "--kv-cache", backendOption.kvCache));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        if (code != 0) {
            throw new EngineException("measuring " + file + " in a child JVM failed (exit code " + code + ")");
        }
        JsonNode row = new ObjectMapper().readTree(jsonPart(stdout, file)).get("results").get(0);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new ObjectMapper().convertValue(row, LinkedHashMap.class);
        m.put("model", label);
        return m;
    }

    /**
     * The JSON summary in a child's stdout: from its first line that starts with '{'. The child inherits this JVM's
     * options, and some print to stdout first (JFR's "Started recording" with {@code -XX:StartFlightRecording}).
     */
    static String jsonPart(String stdout, Path file) {
        int at = stdout.startsWith("{") ? 0 : stdout.indexOf("\n{");
        if (at < 0) {
            String head = stdout.length() > 200 ? stdout.substring(0, 200) + "..." : stdout;
            throw new EngineException("measuring " + file + " in a child JVM printed no JSON summary; its stdout began: " + head.strip());
        }
        return stdout.substring(at);
    }

    private Map<String, Object> measure(Path path, String label, PrintWriter err) {
        long t0 = System.nanoTime();
        try (LoadedModel m = ModelLoader.loadWeights(path); Backend be = backendOption.open()) {
            double load = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            TransformerModel tm = TransformerModel.create(m.weights(), be); // makes the kernels' repacked copies
            double prepare = (System.nanoTime() - t1) / 1e9;
            err.printf("benchmarking %s (%s) on %s (loaded in %.2f s, kernel copies made in %.2f s) ...%n", label, m.format(),
                    be.describe(), load, prepare);
            err.flush();
            DecodeBenchmark.Result r = DecodeBenchmark.run(tm, promptTokens, decodeTokens, repeats, 7);
            System.gc(); // report the live heap, not garbage the collector has not reached yet
            return row(label, m, be, r, Matrices.repackedBytes(), MemoryStats.now(), load, prepare);
        } catch (IOException e) {
            throw new EngineException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@code -m A --against B}: both models in this JVM, their decode steps alternating ({@link DecodeBenchmark#paired}),
     * a row each; RSS, PSS and heap are the process's, with both loaded.
     */
    private List<Map<String, Object>> measurePaired(Path pathA, Path pathB, PrintWriter err) {
        long t0 = System.nanoTime();
        try (LoadedModel a = ModelLoader.loadWeights(pathA); LoadedModel b = ModelLoader.loadWeights(pathB); Backend be = backendOption.open()) {
            double load = (System.nanoTime() - t0) / 1e9; // both files, loaded together
            long r0 = Matrices.repackedBytes(), t1 = System.nanoTime();
            TransformerModel ta = TransformerModel.create(a.weights(), be);
            long r1 = Matrices.repackedBytes(), t2 = System.nanoTime();
            TransformerModel tb = TransformerModel.create(b.weights(), be);
            long r2 = Matrices.repackedBytes(), t3 = System.nanoTime();
            double prepareA = (t2 - t1) / 1e9, prepareB = (t3 - t2) / 1e9;
            err.printf("benchmarking %s against %s, decode steps alternating, on %s (loaded in %.2f s, kernel copies made in %.2f + %.2f s) ...%n",
                    pathA, pathB, be.describe(), load, prepareA, prepareB);
            err.flush();
            paired = DecodeBenchmark.paired(ta, tb, promptTokens, decodeTokens, repeats, 7);
            System.gc();
            MemoryStats mem = MemoryStats.now();
            return List.of(row(pathA.toString(), a, be, paired.a(), r1 - r0, mem, load, prepareA),
                    row(pathB.toString(), b, be, paired.b(), r2 - r1, mem, load, prepareB));
        } catch (IOException e) {
            throw new EngineException("cannot read " + pathA + " or " + pathB + ": " + e.getMessage(), e);
        }
    }

    /** The paired run's result ({@code --against}), for the summary. */
    private DecodeBenchmark.Paired paired;

    /** A table row: the model, its speed, the memory measured ({@code repacked}: the kernels' copies' bytes, made for this model). */
    private static Map<String, Object> row(String label, LoadedModel m, Backend be, DecodeBenchmark.Result r, long repacked, MemoryStats mem,
                                           double load, double prepare) throws IOException {
        long fileBytes = 0;
        for (Path f : m.files()) {
            fileBytes += Files.size(f);
        }
        long mapped = MemoryStats.residentBytesOfMappings(m.files());
        // plus the bit-plane copies the table-lookup kernels made at the first product (their stored codes were unloaded)
        long resident = mapped < 0 ? mapped : mapped + repacked;
        String types = m.weights().distinctMatrices().stream().map(w -> w.type().label()).distinct().sorted()
                .reduce((x, y) -> x + "+" + y).orElse("-");
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("model", label);
        row.put("type", types);
        row.put("backend", be.describe());
        row.put("file_bytes", fileBytes);
        row.put("bits_per_weight", m.weights().matrixBitsPerWeight());
        row.put("weight_bytes_per_token", r.weightBytesPerToken());
        row.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
        row.put("decode_tokens_per_second", r.decodeTokensPerSecond());
        row.put("ms_per_token", r.msPerToken());
        row.put("decode_weight_gb_per_second", r.decodeGBps());
        row.put("model_resident_bytes", resident);
        row.put("rss_bytes", mem.rssBytes());
        row.put("pss_bytes", mem.pssBytes());
        row.put("heap_used_bytes", mem.heapUsedBytes());
        row.put("kv_cache_bytes", r.kvCacheBytes());
        row.put("warmup_rounds", r.warmupRounds());
        row.put("decode_allocated_bytes_per_token", r.decodeAllocatedBytesPerToken());
        row.put("load_seconds", load);
        row.put("prepare_seconds", prepare);
        return row;
    }

    /** The untimed rounds each row took, as " (rounds: 3, 2)". */
    private static String warmupNote(List<Map<String, Object>> rows) {
        String rounds = rows.stream().map(r -> r.get("warmup_rounds")).filter(java.util.Objects::nonNull).map(String::valueOf)
                .reduce((a, b) -> a + ", " + b).orElse("");
        return rounds.isEmpty() ? "" : " (rounds: " + rounds + ")";
    }

    static String table(List<Map<String, Object>> rows, MemoryBandwidth.Result bw) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | type | file MB | bits/weight | weight MB/token | prefill tok/s | decode tok/s | ms/token | weight GB/s | % BW | model resident MB | RSS MB | PSS MB | heap MB | KV cache MB |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map<String, Object> r : rows) {
            double gbps = num(r, "decode_weight_gb_per_second");
            sb.append(String.format("| %s | %s | %s | %.3f | %s | %.1f | %.2f | %.1f | %.2f | %s | %s | %s | %s | %s | %s |%n",
                    r.get("model"), r.get("type"), MemoryStats.mib(lng(r, "file_bytes")), num(r, "bits_per_weight"),
                    MemoryStats.mib(lng(r, "weight_bytes_per_token")), num(r, "prefill_tokens_per_second"), num(r, "decode_tokens_per_second"),
                    num(r, "ms_per_token"), gbps, bw == null ? "n/a" : String.format("%.0f%%", 100 * gbps / bw.readGBps()),
                    MemoryStats.mib(lng(r, "model_resident_bytes")), MemoryStats.mib(lng(r, "rss_bytes")), MemoryStats.mib(lng(r, "pss_bytes")),
                    MemoryStats.mib(lng(r, "heap_used_bytes")), MemoryStats.mib(lng(r, "kv_cache_bytes"))));
        }
        return sb.toString().stripTrailing();
    }

    private static double num(Map<String, Object> r, String k) {
        return ((Number) r.get(k)).doubleValue();
    }

    private static long lng(Map<String, Object> r, String k) {
        return ((Number) r.get(k)).longValue();
    }
}

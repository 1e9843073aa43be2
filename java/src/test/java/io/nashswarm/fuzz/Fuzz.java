package io.nashswarm.fuzz;

import io.nashswarm.cli.Main;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * The fuzzer: case {@code i} of seed {@code s} corrupts one file of one corpus input ({@link Corpus},
 * {@link Mutator}, both deterministic in (s, i)), then runs {@code inspect}, {@code generate -n 2} and,
 * where the input has a tokenizer, {@code perplexity} on a short text, in this JVM, with a time limit per
 * case. A case passes when every command either succeeds or ends with exit code 1 and one {@code error:}
 * line that names the corrupted input's folder or file. It fails on an internal error (exit code 2, an
 * exception the engine did not expect), an error that names no file, a stack trace, out-of-memory, more
 * than the allocation bound ({@link #ALLOCATION_SLACK}), or a hang.
 *
 * <p>{@code scripts/fuzz N SEED} runs N cases and prints the counts per input format and outcome.
 */
public final class Fuzz {
    /**
     * A corrupt input may make a case allocate (all threads, garbage included) at most twice what the same
     * input allocates unmutated, plus this: a header that makes the engine allocate gigabytes fails. (A single
     * allocation beyond the heap fails as out-of-memory; scripts/fuzz caps the heap at 1 GiB.)
     */
    static final long ALLOCATION_SLACK = 256L << 20;
    static final long CASE_SECONDS = 60;
    static final String OK = "ok", CLEAN_ERROR = "clean error";

    record Outcome(String kind, boolean failure, String detail) {}

    record Result(int id, String format, String mutation, Outcome outcome, long allocated, double seconds) {}

    private final Corpus corpus;
    private final long seed;
    private final Path work;
    private final Map<Path, byte[]> originals = new HashMap<>();
    /** What each corpus input allocates unmutated (its allocation bound is twice this plus the slack). */
    private final Map<String, Long> baseAllocation = new HashMap<>();
    private ExecutorService worker = newWorker();

    Fuzz(Corpus corpus, long seed, Path work) {
        this.corpus = corpus;
        this.seed = seed;
        this.work = work;
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }

    Result run(int id) throws IOException {
        Random rng = new Random(seed * 0x9E3779B97F4A7C15L + id);
        boolean unmutated = id < 0; // -(k+1): corpus input k as it is, to show the corpus runs and what it costs
        Corpus.Seed s = corpus.seeds.get(unmutated ? -(id + 1) : rng.nextInt(corpus.seeds.size()));
        String file = s.files().get(unmutated ? 0 : rng.nextInt(s.files().size()));
        byte[] original = originals.computeIfAbsent(s.dir().resolve(file), p -> {
            try {
                return Files.readAllBytes(p);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        Mutator.Variant v = unmutated ? new Mutator.Variant(original, "unmutated") : Mutator.mutate(file, original, rng);
        String format = s.files().size() > 1 || !s.model().equals(file) ? s.format() + ": " + file : s.format();
        Path dir = Files.createDirectories(work.resolve("case-" + id));
        try {
            try (Stream<Path> files = Files.list(s.dir())) {
                for (Path f : files.toList()) {
                    Path target = dir.resolve(f.getFileName().toString());
                    if (f.getFileName().toString().equals(file)) {
                        Files.write(target, v.bytes());
                    } else {
                        Files.createLink(target, f);
                    }
                }
            }
            String model = s.model().equals(".") ? dir.toString() : dir.resolve(s.model()).toString();
            List<String[]> commands = new ArrayList<>();
            commands.add(new String[] {"inspect", "-m", model});
            commands.add(s.tokenizer()
                    ? new String[] {"generate", "-m", model, "-p", "Once upon a time", "-n", "2", "--temperature", "0", "--seed", "1"}
                    : new String[] {"generate", "-m", model, "--prompt-ids", "1 2 3", "-n", "2", "--temperature", "0", "--seed", "1"});
            if (s.tokenizer()) {
                commands.add(new String[] {"perplexity", "-m", model, "-f", corpus.text.toString(), "--ctx", "32"});
            }
            var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long before = mx.getTotalThreadAllocatedBytes();
            long t0 = System.nanoTime();
            Future<Outcome> f = worker.submit(() -> {
                Outcome worst = new Outcome(OK, false, "");
                for (String[] c : commands) {
                    Outcome o = command(c, dir);
                    if (o.failure() || worst.kind().equals(OK)) {
                        worst = o;
                    }
                    if (o.failure()) {
                        break;
                    }
                }
                return worst;
            });
            Outcome outcome;
            try {
                outcome = f.get(CASE_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                worker.shutdownNow();
                worker = newWorker(); // the hung thread is abandoned (daemon)
                outcome = new Outcome("hang (over " + CASE_SECONDS + " s)", true, "");
            } catch (Exception e) {
                outcome = new Outcome("fuzzer error", true, String.valueOf(e));
            }
            long allocated = mx.getTotalThreadAllocatedBytes() - before;
            if (unmutated) {
                baseAllocation.put(s.format(), allocated);
            }
            long bound = 2 * baseAllocation.getOrDefault(s.format(), 0L) + ALLOCATION_SLACK;
            if (!outcome.failure() && allocated > bound) {
                outcome = new Outcome("allocation over bound", true, (allocated >> 20) + " MiB, bound " + (bound >> 20) + " MiB");
            }
            return new Result(id, format, v.description(), outcome, allocated, (System.nanoTime() - t0) / 1e9);
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** One CLI command in this JVM, classified by its exit code and what it printed on stderr. */
    static Outcome command(String[] args, Path caseDir) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code;
        try {
            code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        } catch (Throwable t) { // picocli catches everything a command throws; this is the fuzzer's own safety net
            return new Outcome("escaped throwable", true, args[0] + ": " + t);
        }
        String e = err.toString();
        String first = e.lines().findFirst().orElse("");
        String what = args[0] + ": " + first;
        if (code == 0) {
            return new Outcome(OK, false, "");
        }
        if (code == 1 && e.contains("out of memory")) {
            return new Outcome("out of memory", true, what);
        }
        if (code == 1 && first.startsWith("error: ") && !e.contains("\tat ")) {
            return e.contains(caseDir.toString())
                    ? new Outcome(CLEAN_ERROR, false, what)
                    : new Outcome("error naming no file", true, what);
        }
        return new Outcome(code == 2 ? "internal error" : "exit code " + code, true, what + (e.contains("\tat ") ? " | " + stackTop(e) : ""));
    }

    private static String stackTop(String err) {
        return err.lines().filter(l -> l.startsWith("\tat ")).limit(3).map(String::trim).reduce((a, b) -> a + " < " + b).orElse("");
    }

    /** Counts per format and outcome, as Markdown, and every failure with what reproduces it. */
    static String summary(List<Result> results, long seed, String command) {
        Map<String, Map<String, Integer>> counts = new LinkedHashMap<>();
        TreeSet<String> failureKinds = new TreeSet<>();
        for (Result r : results) {
            counts.computeIfAbsent(r.format(), k -> new HashMap<>()).merge(r.outcome().kind(), 1, Integer::sum);
            if (r.outcome().failure()) {
                failureKinds.add(r.outcome().kind());
            }
        }
        List<String> cols = new ArrayList<>(List.of(OK, CLEAN_ERROR));
        cols.addAll(failureKinds);
        StringBuilder sb = new StringBuilder();
        sb.append("| input (file corrupted) | cases | ").append(String.join(" | ", cols.stream().map(c -> failureKinds.contains(c) ? "FAIL: " + c : c).toList()))
                .append(" |\n|---|---:|").append("---:|".repeat(cols.size())).append('\n');
        int[] total = new int[cols.size()];
        counts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            int n = e.getValue().values().stream().mapToInt(Integer::intValue).sum();
            sb.append("| ").append(e.getKey()).append(" | ").append(n);
            for (int i = 0; i < cols.size(); i++) {
                int c = e.getValue().getOrDefault(cols.get(i), 0);
                total[i] += c;
                sb.append(" | ").append(c);
            }
            sb.append(" |\n");
        });
        sb.append("| **all** | ").append(results.size());
        for (int t : total) {
            sb.append(" | ").append(t);
        }
        sb.append(" |\n");
        long failures = results.stream().filter(r -> r.outcome().failure()).count();
        long maxAlloc = results.stream().mapToLong(Result::allocated).max().orElse(0);
        double maxSec = results.stream().mapToDouble(Result::seconds).max().orElse(0);
        sb.append(String.format("%n%d cases, %d failures; largest allocation in one case %d MiB (bound: twice the unmutated input's + %d MiB), "
                        + "slowest case %.1f s (limit %d s)%n", results.size(), failures, maxAlloc >> 20, ALLOCATION_SLACK >> 20, maxSec, CASE_SECONDS));
        results.stream().filter(r -> r.outcome().failure()).sorted(Comparator.comparingInt(Result::id)).limit(200).forEach(r ->
                sb.append(String.format("- FAIL case %d (%s; %s): %s — %s%n", r.id(), r.format(), r.mutation(), r.outcome().kind(), r.outcome().detail())));
        if (failures > 0) {
            sb.append(String.format("%nReproduce one case: %s 1 %d --case ID%n", command, seed));
        }
        return sb.toString();
    }

    /** Runs cases {@code from .. from+n-1} (or the listed ones) and returns their results, with a progress line on stderr. */
    static List<Result> runAll(Corpus corpus, long seed, Path work, List<Integer> ids, PrintStream progress) throws IOException {
        Fuzz f = new Fuzz(corpus, seed, work);
        List<Result> results = new ArrayList<>();
        List<Result> baseline = new ArrayList<>();
        PrintStream realErr = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream())); // progress bars of the commands under test
        try {
            long t0 = System.nanoTime();
            for (int k = 0; k < corpus.seeds.size(); k++) {
                Result r = f.run(-(k + 1));
                baseline.add(r);
                if (progress != null) {
                    progress.printf("fuzz: unmutated %s: %s %s (%d MiB, %.1f s)%n", r.format(), r.outcome().kind(), r.outcome().detail(),
                            r.allocated() >> 20, r.seconds());
                }
                if (!r.outcome().kind().equals(OK)) {
                    throw new IllegalStateException("corpus input " + r.format() + " does not run as it is: " + r.outcome());
                }
            }
            for (int i = 0; i < ids.size(); i++) {
                Result r = f.run(ids.get(i));
                results.add(r);
                if (progress != null && (i % 50 == 49 || i == ids.size() - 1 || r.outcome().failure())) {
                    long failed = results.stream().filter(x -> x.outcome().failure()).count();
                    progress.printf("fuzz: %d/%d cases, %d failures, %.0f s%s%n", i + 1, ids.size(), failed, (System.nanoTime() - t0) / 1e9,
                            r.outcome().failure() ? " (case " + r.id() + ": " + r.outcome().kind() + ": " + r.outcome().detail() + ")" : "");
                }
            }
        } finally {
            System.setErr(realErr);
        }
        return results;
    }

    /** {@code Fuzz N SEED [--case ID] [--out FILE.md]}. */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: scripts/fuzz N SEED [--case ID] [--out FILE.md] [--list]");
            System.exit(2);
        }
        int n = Integer.parseInt(args[0]);
        long seed = Long.parseLong(args[1]);
        List<Integer> ids = new ArrayList<>();
        Path outFile = null;
        boolean list = false;
        for (int i = 2; i < args.length; i++) {
            switch (args[i]) {
                case "--case" -> ids.add(Integer.parseInt(args[++i]));
                case "--out" -> outFile = Path.of(args[++i]);
                case "--list" -> list = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (ids.isEmpty()) {
            for (int i = 0; i < n; i++) {
                ids.add(i);
            }
        }
        Path root = Files.createTempDirectory("nashswarm-fuzz");
        boolean failed;
        try {
            long t0 = System.nanoTime();
            System.err.println("fuzz: building the corpus in " + root + " ...");
            PrintStream realErr = System.err;
            System.setErr(new PrintStream(OutputStream.nullOutputStream())); // the progress bars of export and quantize
            Corpus corpus;
            try {
                corpus = Corpus.build(root.resolve("corpus"));
            } finally {
                System.setErr(realErr);
            }
            corpus.notes.forEach(note -> System.err.println("note: " + note));
            System.err.printf("fuzz: %d inputs built in %.0f s%n", corpus.seeds.size(), (System.nanoTime() - t0) / 1e9);
            List<Result> results = runAll(corpus, seed, Files.createDirectories(root.resolve("cases")), ids, System.err);
            String table = summary(results, seed, "scripts/fuzz");
            for (Result r : results) {
                if (list || ids.size() == 1) {
                    System.out.printf("case %d: %s; %s -> %s %s (%d MiB, %.1f s)%n", r.id(), r.format(), r.mutation(), r.outcome().kind(),
                            r.outcome().detail(), r.allocated() >> 20, r.seconds());
                }
            }
            System.out.print(table);
            if (outFile != null) {
                Files.writeString(outFile, "# Fuzzing: `scripts/fuzz " + String.join(" ", args) + "`\n\n" + table);
            }
            failed = results.stream().anyMatch(r -> r.outcome().failure());
        } finally {
            deleteTree(root);
        }
        System.exit(failed ? 1 : 0);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

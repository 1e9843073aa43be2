package io.nashswarm.cli;

import io.nashswarm.hub.ByteProgress;
import io.nashswarm.hub.HubClient;
import io.nashswarm.hub.Pull;
import io.nashswarm.hub.PulledFile;
import io.nashswarm.hub.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code nashswarm pull REPO_ID}: downloads a model from the Hugging Face Hub, resuming where it stopped. */
@Command(name = "pull",
        description = {
                "Downloads a model from the Hugging Face Hub into a folder (default models/OWNER__NAME).",
                "Without --include it takes the files the engine reads: config.json, generation_config.json,"
                        + " *.safetensors (+ index), tokenizer files. Interrupted downloads resume on the next run;"
                        + " files already complete are skipped. Every file is checked against the Hub's size"
                        + " and hash (SHA-256 for LFS files, the git blob id for small ones).",
                "Environment: HF_TOKEN (access token for gated or private models), HF_ENDPOINT (a mirror)."})
public final class PullCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REPO_ID", description = "e.g. gpt2 or TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    String repo;

    @Option(names = "--dir", paramLabel = "DIR", description = "Target folder (default: models/OWNER__NAME).")
    Path dir;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = "main",
            description = "Branch, tag or commit (default: ${DEFAULT-VALUE}).")
    String revision;

    @Option(names = "--include", paramLabel = "PATTERN",
            description = "Download the files matching this pattern instead (repeatable), e.g. '*Q4_0.gguf'."
                    + " '*' also matches '/'.")
    List<String> includes = new ArrayList<>();

    @Option(names = "--endpoint", paramLabel = "URL",
            description = "Hub URL (default: $HF_ENDPOINT or " + HubClient.DEFAULT_ENDPOINT + ").")
    String endpoint;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "Give up when the server sends nothing for this long (default: ${DEFAULT-VALUE}).")
    double timeoutSeconds;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        String url = endpoint != null ? endpoint : envOr("HF_ENDPOINT", HubClient.DEFAULT_ENDPOINT);
        HubClient client = new HubClient(url, System.getenv("HF_TOKEN"),
                Duration.ofMillis(Math.max(1, Math.round(timeoutSeconds * 1000))));
        Path target = dir != null ? dir : defaultDir(HubClient.checkRepoId(repo));
        PrintWriter err = spec.commandLine().getErr();
        AtomicBoolean drawing = new AtomicBoolean();  // a note during the bar must start on a line of its own
        Pull pull = new Pull(client, note -> {
            err.println((drawing.get() ? "\n" : "") + "note: " + note);
            err.flush();
        });
        err.println("pulling " + repo + " (revision " + revision + ") from " + client.endpoint() + " into " + target);
        err.flush();
        List<PulledFile> files = pull.run(repo, revision, includes, target, total -> {
            drawing.set(true);
            return ByteProgress.bar("pull", total, System.err);
        });
        drawing.set(false);
        printSummary(spec.commandLine().getOut(), files, target);
        return 0;
    }

    /** models/OWNER__NAME: one folder per repository, named so that different owners never collide. */
    static Path defaultDir(String repo) {
        return Path.of("models", repo.replace("/", "__"));
    }

    private static void printSummary(PrintWriter out, List<PulledFile> files, Path target) {
        int width = Math.max(4, files.stream().mapToInt(f -> f.path().length()).max().orElse(0));
        String row = "%-" + width + "s  %10s  %s%n";
        out.printf(row, "file", "size", "status");
        long total = 0;
        for (PulledFile f : files) {
            out.printf(row, f.path(), Sizes.human(f.size()), f.status());
            total += f.size();
        }
        out.printf("%d file(s), %s in %s%n", files.size(), Sizes.human(total), target);
        out.flush();
    }

    private static String envOr(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}

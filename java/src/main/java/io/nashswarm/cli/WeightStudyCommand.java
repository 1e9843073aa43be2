package io.nashswarm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.nashswarm.EngineException;
import io.nashswarm.format.AtomicFile;
import io.nashswarm.quant.DataSplit;
import io.nashswarm.quant.WeightStudy;
import io.nashswarm.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code weight-study}: quantization methods compared in weight space on the real GPT-2 124M attention
 * matrices: real bits/weight, MSE, SQNR and the gap to the Gaussian rate–distortion bound.
 */
@Command(name = "weight-study", mixinStandardHelpOptions = true,
        description = "Compares quantization methods on the real GPT-2 124M attention matrices (bits/weight, MSE, SQNR, gap to the Gaussian R(D) bound).")
public final class WeightStudyCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Folder with layer{1,6,12}/att.{query,key,value,proj}.w.dat (default: ../shared/data/gpt2-124M-attention).")
    Path data;

    @Option(names = "--swarm-radius", defaultValue = "1", paramLabel = "R", description = "Nash-Swarm smoothing radius (default: ${DEFAULT-VALUE}).")
    int swarmRadius;

    @Option(names = "--json", description = "Print JSON on stdout instead of Markdown.")
    boolean json;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write weight-study.md and weight-study.json into DIR.")
    Path outDir;

    @Override
    public Integer call() throws Exception {
        if (swarmRadius < 0) {
            throw new EngineException("--swarm-radius must be >= 0, got " + swarmRadius);
        }
        if (outDir != null && Files.exists(outDir) && !Files.isDirectory(outDir)) {
            throw new EngineException("--out " + outDir + ": not a directory");
        }
        Path dir = data != null ? data : DataSplit.dataRoot().resolve("gpt2-124M-attention");
        List<WeightStudy.Matrix> matrices = WeightStudy.load(dir);
        List<WeightStudy.Method> methods = Arrays.asList(WeightStudy.Method.values());
        WeightStudy.Report report;
        try (Progress p = Progress.bar("weight-study", (long) methods.size() * matrices.size(), "matrices")) {
            report = WeightStudy.run(matrices, methods, swarmRadius, p);
        }
        String markdown = "# Weight-space study: " + dir.toAbsolutePath().normalize() + "\n\n" + WeightStudy.toMarkdown(report);
        String jsonText = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(WeightStudy.toMap(report));
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? jsonText : markdown);
        if (outDir != null) {
            Files.createDirectories(outDir);
            write(outDir.resolve("weight-study.md"), markdown + "\n");
            write(outDir.resolve("weight-study.json"), jsonText + "\n");
            // With --json, stdout stays one JSON document.
            PrintWriter note = json ? spec.commandLine().getErr() : out;
            note.println("wrote " + outDir.resolve("weight-study.md") + " and " + outDir.resolve("weight-study.json"));
            note.flush();
        }
        out.flush();
        return 0;
    }

    private static void write(Path file, String text) {
        AtomicFile.write(file, ch -> {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
        });
    }
}

package io.nashswarm.cli;

import io.nashswarm.EngineException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.packed.PackedModelWriter;
import io.nashswarm.format.packed.Provenance;
import io.nashswarm.quant.Calibration;
import io.nashswarm.quant.DataSplit;
import io.nashswarm.quant.ModelQuantizer;
import io.nashswarm.quant.ModelQuantizer.QuantizedModel;
import io.nashswarm.quant.NashSplit;
import io.nashswarm.quant.QuantSettings;
import io.nashswarm.quant.Recipe;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code quantize -m MODEL -o OUT.nsq --recipe R}: any loaded model to the engine's packed file, with a
 * per-tensor summary of what every byte is spent on. {@code --dry-run} shows that summary without
 * writing.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Quantizes a model with a named recipe and writes the engine's packed file (.nsq), with a summary of"
                + " every tensor's storage and the model's real bits/weight.")
public final class QuantizeCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Spec CommandSpec spec;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT.nsq", description = "The packed file to write (required unless --dry-run).")
    Path output;

    /** The recipe labels, from the one table ({@link Recipe}). */
    static final class RecipeNames implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(Recipe.values()).map(Recipe::label).iterator();
        }
    }

    @Option(names = "--recipe", required = true, paramLabel = "RECIPE", completionCandidates = RecipeNames.class,
            description = "One of: ${COMPLETION-CANDIDATES}; also spelled with the group, target and -asym, e.g. gptq-int4-g64, gptq-target-3.0bpw.")
    String recipe;

    @Option(names = "--group", defaultValue = "64", paramLabel = "N",
            description = "Group size; matrices it does not fit get the largest of 128/64/32 that divides their rows (default: ${DEFAULT-VALUE}).")
    int group;

    @Option(names = "--asym", description = "Integer codes with a zero point per group (int*, nash-swarm*, target-bpw*).")
    boolean asym;

    @Option(names = "--nash-split", defaultValue = "10/20/70", paramLabel = "P8/P4/P2",
            description = "Percent of groups (or weights) at 8/4/2 bits for nash-swarm recipes (default: ${DEFAULT-VALUE}).")
    String nashSplit;

    @Option(names = "--swarm-radius", defaultValue = "1", paramLabel = "R",
            description = "Radius of the |w| smoothing box, (2R+1)x(2R+1); 0 = plain |w| (default: ${DEFAULT-VALUE}).")
    int swarmRadius;

    @Option(names = "--bpw", defaultValue = "3.0", paramLabel = "BITS",
            description = "Target bits/weight over all matrices, embeddings and head included (target-bpw*; default: ${DEFAULT-VALUE}).")
    double bpw;

    @Option(names = "--embed-type", defaultValue = "int8", paramLabel = "TYPE",
            description = "Embeddings and LM head: f32, f16, bf16, q8_0, q4_0, int8, int4, int2, nf4 (default: ${DEFAULT-VALUE}).")
    String embedType;

    @Option(names = "--outliers", defaultValue = "0", paramLabel = "F",
            description = "Fraction of weights kept exactly per mixed matrix, e.g. 0.5%% (default: ${DEFAULT-VALUE}).")
    String outliers;

    @Option(names = "--fallback", defaultValue = "f16", paramLabel = "f16|f32",
            description = "Storage of matrices no group size fits (default: ${DEFAULT-VALUE}).")
    String fallback;

    @Option(names = "--calib-file", paramLabel = "FILE",
            description = "Calibration text for *-calib recipes (default: ../shared/data/" + DataSplit.WIKITEXT + ").")
    Path calibFile;

    @Option(names = "--calib-fraction", defaultValue = "0.1", paramLabel = "F",
            description = "Leading fraction of the file's lines used for calibration; the rest is left for evaluation (default: ${DEFAULT-VALUE}).")
    double calibFraction;

    @Option(names = "--calib-tokens", defaultValue = "16384", paramLabel = "N",
            description = "At most this many calibration tokens (default: ${DEFAULT-VALUE}).")
    int calibTokens;

    @Option(names = "--dry-run", description = "Quantize in memory and print the summary; write nothing.")
    boolean dryRun;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Recipe.Named named = Recipe.parseName(recipe);
        Recipe r = named.recipe();
        QuantSettings settings = new QuantSettings(named.group().orElse(group), asym || named.asym(), NashSplit.parse(nashSplit), swarmRadius,
                named.bpw().orElse(bpw),
                QuantSettings.parseEmbedType(embedType), QuantSettings.parseFraction(outliers, "--outliers"),
                QuantSettings.parseFallback(fallback));
        settings.checkFor(r);
        checkOutput();
        DataSplit split = null;
        if (r.calibrated()) {
            if (calibTokens < 1) {
                throw new EngineException("--calib-tokens must be >= 1, got " + calibTokens);
            }
            DataSplit.checkFraction(calibFraction);
            Path file = calibFile != null ? calibFile : DataSplit.dataRoot().resolve(DataSplit.WIKITEXT);
            if (calibFile == null && !Files.exists(file)) {
                throw new EngineException("default calibration text " + file.toAbsolutePath().normalize() + " not found; pass --calib-file");
            }
            split = DataSplit.of(file, calibFraction);
        }
        try (LoadedModel m = modelOptions.load()) {
            Calibration calibration = null;
            if (split != null) {
                Tokenizer tokenizer = ModelOptions.requireTokenizer(m, modelOptions.model);
                int[] tokens = Calibration.tokens(tokenizer, split);
                try (Progress p = Progress.bar("calibrate", Math.min(tokens.length, calibTokens), "tok")) {
                    calibration = Calibration.run(m.weights(), tokens, calibTokens, split.description(), r.needsAllHessians(), p);
                }
            }
            QuantizedModel q;
            try (Progress p = Progress.bar("quantize", ModelQuantizer.progressUnits(m.weights(), r), "tensors")) {
                q = ModelQuantizer.quantizeCalibrated(m.weights(), r, settings, calibration, p);
            }
            try (q) {
                out.println(q.report().toMarkdown());
                if (calibration != null) {
                    out.println("calibration: " + calibration.description());
                }
                if (dryRun) {
                    out.printf("dry run: nothing written (the weights would take %d bytes)%n", q.report().totalBytes());
                } else {
                    Provenance provenance = new Provenance(r.provenanceName(settings), r.parameters(settings), modelOptions.model.toString(),
                            sha256(m.files()), calibration == null ? null : calibration.description(), spec.root().version()[0]);
                    try (Progress p = Progress.bar("write", PackedModelWriter.tensorCount(q.weights()), "tensors")) {
                        PackedModelWriter.write(q.weights(), m.tokenizer().orElse(null), provenance, output, p);
                    }
                    out.printf("wrote %s (%d bytes)%n", output, Files.size(output));
                }
            }
        }
        out.flush();
        return 0;
    }

    /** Fails before any work when the output cannot be written. */
    private void checkOutput() {
        if (output == null) {
            if (!dryRun) {
                throw new EngineException("-o/--output is required (or use --dry-run to only print the summary)");
            }
            return;
        }
        Path parent = output.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new EngineException(output + ": the directory " + parent + " does not exist");
        }
        if (Files.isDirectory(output)) {
            throw new EngineException(output + ": is a directory; give a file name such as model.nsq");
        }
    }

    /** SHA-256 of the source file, or for several files, of their digests concatenated in order. */
    static String sha256(List<Path> files) {
        try {
            MessageDigest all = MessageDigest.getInstance("SHA-256");
            byte[] last = null;
            byte[] buf = new byte[1 << 20];
            for (Path f : files) {
                MessageDigest d = MessageDigest.getInstance("SHA-256");
                try (InputStream in = Files.newInputStream(f)) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        d.update(buf, 0, n);
                    }
                }
                last = d.digest();
                all.update(last);
            }
            return HexFormat.of().formatHex(files.size() == 1 ? last : all.digest());
        } catch (IOException e) {
            throw new EngineException("cannot read the source model to hash it: " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

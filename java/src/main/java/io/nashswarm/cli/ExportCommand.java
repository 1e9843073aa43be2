package io.nashswarm.cli;

import io.nashswarm.EngineException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.gguf.GgufExporter;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;

/** {@code export -m MODEL -o OUT.gguf [--type f32|f16|bf16|q8_0|q4_0]}: a GGUF file llama.cpp can run. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Writes a model (with its tokenizer) as a GGUF v3 file in llama.cpp's layout.")
public final class ExportCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf", description = "The GGUF file to write.")
    Path output;

    @Option(names = "--type", paramLabel = "TYPE",
            description = "Convert float matrices to f32, f16, bf16, q8_0 or q4_0 (ggml's rounding). Default: keep every matrix's type.")
    String type;

    @Option(names = "--output-type", paramLabel = "TYPE",
            description = "Type of the LM head (default: q8_0 with --type q4_0, as llama.cpp keeps the head finer; else as --type).")
    String outputType;

    @Option(names = "--name", description = "general.name in the file (default: the model path).")
    String name;

    @Override
    public void run() {
        GgufExporter.Options options = new GgufExporter.Options(parse(type), parse(outputType), name);
        PrintWriter out = spec.commandLine().getOut();
        try (LoadedModel m = modelOptions.load()) {
            GgufExporter.Plan plan = GgufExporter.plan(m.weights(), m.tokenizer().orElse(null), options);
            GgufExporter.Summary s;
            try (Progress p = Progress.bar("export", plan.tensorCount(), "tensors")) {
                s = plan.write(output, p);
            }
            for (String note : s.notes()) {
                out.println("note: " + note);
            }
            out.printf("wrote %s: %d tensors (%s), %,d bytes of tensors, %,d bytes in all; tokenizer: %s%n", s.file(), s.tensors(),
                    describe(s.types()), s.tensorBytes(), s.fileBytes(), s.tokenizer());
            out.flush();
        }
    }

    private static QuantType parse(String label) {
        if (label == null) {
            return null;
        }
        return QuantType.byLabel(label).orElseThrow(() -> new EngineException("unknown type '" + label + "': choose one of " + GgufExporter.EXPORT_TYPES));
    }

    private static String describe(Map<String, Integer> types) {
        return types.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
    }
}

package io.nashswarm.cli;

import io.nashswarm.EngineException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.model.Generator;
import io.nashswarm.model.Sampler;
import io.nashswarm.model.Backend;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "generate", description = "Generates text from a prompt, streaming tokens to stdout.", mixinStandardHelpOptions = true)
public final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin BackendOption backendOption;
    @Spec CommandSpec spec;

    @Option(names = {"-p", "--prompt"}, description = "Prompt text (default: empty, i.e. BOS only where the model has one).")
    String prompt;

    @Option(names = "--prompt-ids", split = "[,\\s]+", paramLabel = "IDS",
            description = "Prompt as token ids, e.g. \"1 400 300\" (include BOS yourself); works without a tokenizer, and then prints ids.")
    int[] promptIds;

    @Option(names = {"-n", "--n-predict"}, defaultValue = "128", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Keep the k most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus sampling mass; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", description = "Random seed (default: time-based).")
    Long seed;

    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-sequence token.")
    boolean ignoreEos;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        try (LoadedModel m = modelOptions.load(); Backend be = backendOption.open()) {
            if (prompt != null && promptIds != null) {
                throw new EngineException("give either -p PROMPT or --prompt-ids IDS, not both");
            }
            Tokenizer tokenizer = promptIds != null ? m.tokenizer().orElse(null) : ModelOptions.requireTokenizer(m, modelOptions.model);
            TransformerModel model = TransformerModel.create(m.weights(), be); // makes the kernels' copies
            double ready = (System.nanoTime() - t0) / 1e9;
            Sampler sampler = new Sampler(temperature, topK, topP, seed != null ? seed : System.nanoTime());
            Generator generator = new Generator(model, tokenizer);
            java.util.function.Consumer<String> stream = piece -> {
                out.print(piece);
                out.flush();
            };
            Generator.Result r = promptIds != null
                    ? generator.generate(promptIds, n, sampler, ignoreEos, stream)
                    : generator.generate(prompt != null ? prompt : "", n, sampler, ignoreEos, stream);
            out.println();
            out.flush();
            err.printf("load: %.2f s | prompt: %d tokens, %.1f tokens/s | generation: %d tokens, %.1f tokens/s%s%n", ready,
                    r.promptIds().length, r.promptTokensPerSecond(), r.generatedIds().length, r.generationTokensPerSecond(),
                    r.stoppedAtEos() ? " | stopped at end-of-sequence" : "");
            err.flush();
        }
        return 0;
    }
}

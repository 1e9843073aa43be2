package io.nashswarm.cli;

import io.nashswarm.EngineException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The model options every command shares (picocli mixin). */
public final class ModelOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL",
            description = "Hugging Face directory, GGUF file, llama2.c .bin or packed .nsq file (recognised by content).")
    Path model;

    @Option(names = {"-t", "--tokenizer"}, paramLabel = "TOKENIZER",
            description = "Tokenizer file or directory (default: the one inside or beside the model).")
    Path tokenizer;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all cores).")
    Integer threads;

    LoadedModel load() {
        if (threads != null) {
            Parallel.setThreads(threads);
        }
        return ModelLoader.load(model, tokenizer);
    }

    static Tokenizer requireTokenizer(LoadedModel m, Path model) {
        return m.tokenizer().orElseThrow(() -> new EngineException(model
                + ": no tokenizer found inside or beside the model; pass one with -t (tokenizer.json, tokenizer.model, vocab.json + merges.txt, or a llama2.c tokenizer.bin)"));
    }
}

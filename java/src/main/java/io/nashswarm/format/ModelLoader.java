package io.nashswarm.format;

import io.nashswarm.EngineException;
import io.nashswarm.format.gguf.GgufLoader;
import io.nashswarm.format.hf.HfLoader;
import io.nashswarm.format.llama2c.Llama2cLoader;
import io.nashswarm.format.packed.PackedModelLoader;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.tokenizer.Tokenizers;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The one entry point for opening a model as users have it: a Hugging Face directory (or a
 * safetensors file with its config.json), a GGUF file, a llama2.c checkpoint, or the engine's own
 * packed file, recognised by
 * content. Weights are memory-mapped, never copied; {@link LoadedModel#close()} unmaps them.
 */
public final class ModelLoader {
    private ModelLoader() {}

    /**
     * Loads the weights and finds the tokenizer: {@code tokenizerOrNull} if given; else the one in
     * the GGUF metadata or the packed file's header; else the tokenizer files of a Hugging Face directory; else, for llama2.c,
     * {@code tokenizer.bin} beside the model or the single {@code tok*.bin} there. None found leaves
     * the tokenizer empty (commands that need one say so).
     */
    public static LoadedModel load(Path model, Path tokenizerOrNull) {
        LoadedModel m = loadWeights(model);
        try {
            Optional<Tokenizer> tok = tokenizer(m, model, tokenizerOrNull);
            tok.ifPresent(t -> checkVocabulary(t, tokenizerSource(m, model, tokenizerOrNull), m.weights().config().vocabSize()));
            return m.withTokenizer(tok);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Loads only the weights (no tokenizer is looked for; a packed file's own tokenizer comes with it). */
    public static LoadedModel loadWeights(Path model) {
        ModelFormat format = ModelFormat.detect(model).orElseThrow(() -> new FormatException(model,
                "not a recognised model (expected a Hugging Face directory, a GGUF file, a llama2.c checkpoint or a packed .nsq file)"));
        Arena arena = Arena.ofShared();
        try {
            return switch (format) {
                case HUGGING_FACE -> HfLoader.load(model, arena);
                case GGUF -> GgufLoader.load(model, arena);
                case LLAMA2C -> Llama2cLoader.load(model, arena);
                case PACKED -> PackedModelLoader.load(model, arena);
            };
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** A tokenizer may have fewer tokens than the model (padded embeddings), never more: those ids would have no logits. */
    static void checkVocabulary(Tokenizer t, String source, int modelVocab) {
        if (t.vocabSize() > modelVocab) {
            throw new EngineException("tokenizer " + source + " has " + t.vocabSize() + " tokens but the model has " + modelVocab);
        }
    }

    private static Optional<Tokenizer> tokenizer(LoadedModel m, Path model, Path explicit) {
        if (explicit != null) {
            if (!Files.exists(explicit)) {
                throw new FormatException(explicit, "no such tokenizer file or directory");
            }
            return Optional.of(Tokenizers.load(explicit));
        }
        return switch (m.format()) {
            case PackedModelLoader.FORMAT -> m.tokenizer();
            case GgufLoader.FORMAT -> m.metadata().containsKey("tokenizer.ggml.model")
                    ? Optional.of(Tokenizers.fromGguf(m.metadata(), model)) : Optional.empty();
            case HfLoader.FORMAT -> {
                Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
                yield hasHfTokenizer(dir) ? Optional.of(Tokenizers.load(dir)) : Optional.empty();
            }
            default -> llama2cTokenizer(model).map(Tokenizers::load);
        };
    }

    private static String tokenizerSource(LoadedModel m, Path model, Path explicit) {
        if (explicit != null) {
            return explicit.toString();
        }
        if (m.format().equals(Llama2cLoader.FORMAT)) {
            return llama2cTokenizer(model).map(Path::toString).orElse(model.toString());
        }
        return model.toString();
    }

    private static boolean hasHfTokenizer(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.json"))
                || Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"))
                || Files.isRegularFile(dir.resolve("encoder.json")) && Files.isRegularFile(dir.resolve("vocab.bpe"))
                || Files.isRegularFile(dir.resolve("tokenizer.model"));
    }

    /** {@code tokenizer.bin} beside the model, else the only {@code tok*.bin} there. */
    static Optional<Path> llama2cTokenizer(Path model) {
        Path dir = model.toAbsolutePath().getParent();
        Path standard = dir.resolve("tokenizer.bin");
        if (Files.isRegularFile(standard)) {
            return Optional.of(standard);
        }
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> found = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith("tok") && n.endsWith(".bin") && Files.isRegularFile(p) && !p.equals(model.toAbsolutePath());
            }).toList();
            return found.size() == 1 ? Optional.of(found.getFirst()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}

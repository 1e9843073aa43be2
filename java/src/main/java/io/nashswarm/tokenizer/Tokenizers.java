package io.nashswarm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.nashswarm.format.FormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Finds and builds the right {@link Tokenizer} for a file, directory or GGUF metadata. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * Loads a tokenizer from a file or directory, recognised by content, not extension.
     * Directories (Hugging Face layout) are searched for {@code tokenizer.json}, then
     * {@code vocab.json} + {@code merges.txt}, then {@code encoder.json} + {@code vocab.bpe},
     * then {@code tokenizer.model}, then a llama2.c {@code tokenizer.bin}. Files may be any of
     * those (a vocabulary or merges file finds its partner beside it).
     *
     * @throws io.nashswarm.format.FormatException naming the path and the problem
     */
    public static Tokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            return loadDirectory(path);
        }
        return loadFile(path, readAll(path));
    }

    /**
     * Builds the tokenizer stored in GGUF metadata ({@code tokenizer.ggml.model} = "gpt2" or "llama",
     * with {@code tokenizer.ggml.tokens}, {@code .scores}, {@code .token_type}, {@code .merges},
     * {@code .bos_token_id}, {@code .eos_token_id}, {@code tokenizer.ggml.add_bos_token}).
     *
     * <p>Metadata values are: uint8/int8/uint16/int16/int32 → Integer; uint32/int64/uint64 → Long;
     * float32 → Float; float64 → Double; bool → Boolean; string → String; array → {@code List} of those.
     */
    public static Tokenizer fromGguf(Map<String, Object> metadata, Path file) {
        return GgufTokenizer.read(metadata, file);
    }

    private static Tokenizer loadDirectory(Path dir) {
        List<String> notes = new ArrayList<>();
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return load(dir.resolve("tokenizer.json"));
        }
        for (String[] pair : new String[][] {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}}) {
            Path vocab = dir.resolve(pair[0]), merges = dir.resolve(pair[1]);
            if (Files.isRegularFile(vocab) && Files.isRegularFile(merges)) {
                return GptBpeFiles.read(vocab, readAll(vocab), merges, readAll(merges));
            }
            if (Files.isRegularFile(vocab) || Files.isRegularFile(merges)) {
                notes.add(Files.isRegularFile(vocab) ? pair[0] + " without " + pair[1] : pair[1] + " without " + pair[0]);
            }
        }
        for (String name : List.of("tokenizer.model", "tokenizer.bin")) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return load(dir.resolve(name));
            }
        }
        throw new FormatException(dir, "no tokenizer found: looked for tokenizer.json, vocab.json + merges.txt, "
                + "encoder.json + vocab.bpe, tokenizer.model, tokenizer.bin"
                + (notes.isEmpty() ? "" : " (found " + String.join(", ", notes) + ")"));
    }

    private static Tokenizer loadFile(Path path, byte[] data) {
        if (data.length == 0) {
            throw new FormatException(path, "file is empty");
        }
        int first = firstNonSpace(data);
        if (first == '{' || first == '[') {
            JsonNode root = JsonFiles.parse(path, data);
            if (!root.isObject()) {
                throw new FormatException(path, "JSON file is not a JSON object (expected a tokenizer.json or a token → id vocabulary)");
            }
            // A tokenizer.json has a "model" object; a vocabulary maps tokens (GPT-2 has "model" too) to ids.
            if (root.path("model").isObject()) {
                return HfTokenizerJson.read(path, root);
            }
            Path merges = partner(path, "merges file", "vocab.bpe", "merges.txt");
            return GptBpeFiles.read(path, data, merges, readAll(merges));
        }
        if (GptBpeFiles.looksLikeMerges(data)) {
            Path vocab = partner(path, "vocabulary", "encoder.json", "vocab.json");
            return GptBpeFiles.read(vocab, readAll(vocab), path, data);
        }
        String notLlama2c = Llama2cTokenizer.problem(data);
        if (notLlama2c == null) {
            return Llama2cTokenizer.read(path, data);
        }
        if (SentencePieceModel.mayBe(data)) {
            try {
                return SentencePieceModel.read(path, data);
            } catch (FormatException e) {
                throw new FormatException(path, "not a recognised tokenizer: as a SentencePiece model, "
                        + problemOf(e, path) + "; as a llama2.c tokenizer.bin, " + notLlama2c, e);
            }
        }
        // A truncated or damaged tokenizer.bin lands here: say what the llama2.c reader saw.
        throw new FormatException(path, "not a recognised tokenizer (tokenizer.json, encoder.json/vocab.json, "
                + "SentencePiece tokenizer.model or llama2.c tokenizer.bin); as a tokenizer.bin: " + notLlama2c);
    }

    /** The GPT-2 file that goes with this one: the usual partner name first, then the other naming. */
    private static Path partner(Path path, String what, String openAiName, String hfName) {
        Path dir = path.toAbsolutePath().getParent();
        String name = path.getFileName().toString();
        List<String> order = name.equals("vocab.json") || name.equals("merges.txt")
                ? List.of(hfName, openAiName) : List.of(openAiName, hfName);
        for (String candidate : order) {
            if (dir != null && Files.isRegularFile(dir.resolve(candidate))) {
                return dir.resolve(candidate);
            }
        }
        throw new FormatException(path, "this is half of a GPT-2 style BPE tokenizer, but its " + what + " ("
                + String.join(" or ", order) + ") is not in " + dir);
    }

    private static int firstNonSpace(byte[] data) {
        int i = data.length >= 3 && (data[0] & 0xff) == 0xEF && (data[1] & 0xff) == 0xBB && (data[2] & 0xff) == 0xBF ? 3 : 0;
        while (i < data.length && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) {
            i++;
        }
        return i < data.length ? data[i] : -1;
    }

    /** The message of a FormatException about {@code path} without the path in front. */
    private static String problemOf(FormatException e, Path path) {
        String prefix = path + ": ";
        return e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
    }

    static byte[] readAll(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new FormatException(path, "no such file");
        } catch (IOException e) {
            throw new FormatException(path, "cannot read: " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            throw new FormatException(path, "too large to be a tokenizer file");
        }
    }
}

package io.nashswarm.tokenizer;

import java.nio.file.Path;
import java.util.Map;

/** Finds and builds the right {@link Tokenizer} for a file, directory or GGUF metadata. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * Loads a tokenizer from a file or directory, recognised by content, not extension.
     * Directories (Hugging Face layout) are searched for {@code tokenizer.json}, then
     * {@code vocab.json} + {@code merges.txt}, then {@code encoder.json} + {@code vocab.bpe},
     * then {@code tokenizer.model}. Files may be any of those or a llama2.c {@code tokenizer.bin}.
     *
     * @throws io.nashswarm.format.FormatException naming the path and the problem
     */
    public static Tokenizer load(Path path) {
        throw new UnsupportedOperationException("not implemented yet");
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
        throw new UnsupportedOperationException("not implemented yet");
    }
}

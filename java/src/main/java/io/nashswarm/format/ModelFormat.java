package io.nashswarm.format;

import io.nashswarm.format.gguf.GgufFile;
import io.nashswarm.format.hf.HfLoader;
import io.nashswarm.format.llama2c.Llama2cLoader;
import io.nashswarm.format.packed.PackedFormat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The checkpoint formats the engine reads, recognised by content rather than by file name. */
public enum ModelFormat {
    HUGGING_FACE(HfLoader.FORMAT),
    GGUF(io.nashswarm.format.gguf.GgufLoader.FORMAT),
    LLAMA2C(Llama2cLoader.FORMAT),
    /** The engine's own packed file (see {@link io.nashswarm.format.packed}). */
    PACKED(PackedFormat.FORMAT);

    private final String label;

    ModelFormat(String label) {
        this.label = label;
    }

    public String label() { return label; }

    /**
     * A directory with config.json is Hugging Face; a file starting with "GGUF" is GGUF; one starting
     * with "NSWQ" is the engine's packed file; a file
     * starting with plausible llama2.c header numbers is llama2.c (its size is checked when
     * loading); an 8-byte length followed by '{' is safetensors (loaded with the config.json beside it).
     */
    public static Optional<ModelFormat> detect(Path model) {
        if (Files.isDirectory(model)) {
            return Files.isRegularFile(model.resolve(HfLoader.CONFIG)) ? Optional.of(HUGGING_FACE) : Optional.empty();
        }
        if (!Files.exists(model)) {
            throw new FormatException(model, "no such file or directory");
        }
        byte[] head = MappedFiles.head(model, 32);
        if (head.length >= 4 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt() == GgufFile.MAGIC) {
            return Optional.of(GGUF);
        }
        if (PackedFormat.hasMagic(head)) {
            return Optional.of(PACKED);
        }
        // llama2.c first: a safetensors header length below 4 GB reads as hidden_dim 0, never plausible.
        if (Llama2cLoader.plausibleHeader(head).isPresent()) {
            return Optional.of(LLAMA2C);
        }
        if (head.length >= 9 && head[8] == '{') {
            return Optional.of(HUGGING_FACE);
        }
        return Optional.empty();
    }
}

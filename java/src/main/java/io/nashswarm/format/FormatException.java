package io.nashswarm.format;

import io.nashswarm.EngineException;

import java.nio.file.Path;

/** A model, tokenizer or data file that cannot be read as what it claims to be. */
public class FormatException extends EngineException {
    private final Path file;

    public FormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public FormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}

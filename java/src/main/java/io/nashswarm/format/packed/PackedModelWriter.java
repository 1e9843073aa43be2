package io.nashswarm.format.packed;

import io.nashswarm.model.ModelWeights;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;

import java.nio.file.Path;

/**
 * Writes the engine's own packed, memory-mappable model file (STUB: being implemented; the API is fixed).
 */
public final class PackedModelWriter {
    private PackedModelWriter() {}

    /**
     * Writes every matrix in its stored form (F32/F16/BF16/Q8_0/Q4_0 or any packed type, as its
     * sections), the vectors, the config, the tokenizer (may be null) and the provenance, to a
     * temporary file beside {@code target}, then renames it into place.
     */
    public static void write(ModelWeights weights, Tokenizer tokenizer, Provenance provenance, Path target, Progress progress) {
        throw new UnsupportedOperationException("packed model writer not implemented yet");
    }
}

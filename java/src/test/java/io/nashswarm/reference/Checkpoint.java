package io.nashswarm.reference;

import io.nashswarm.format.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** One spec's random weights, written as a Hugging Face directory or a GGUF file. */
record Checkpoint(ModelSpec spec, Map<String, HfTensor> tensors) {

    enum Format { HF, GGUF }

    static Checkpoint random(ModelSpec spec) {
        return new Checkpoint(spec, spec.randomTensors());
    }

    /** Writes the checkpoint under {@code dir} and returns the path to load: the HF directory or the .gguf file. */
    Path write(Format format, Path dir) {
        return switch (format) {
            case HF -> writeHf(dir.resolve(spec.name()));
            case GGUF -> {
                Path file = dir.resolve(spec.name() + ".gguf");
                spec.writeGguf(tensors, file);
                yield file;
            }
        };
    }

    private Path writeHf(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), spec.configJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        tensors.values().forEach(t -> w.add(t.name(), t.dtype(), t.shape(), t.bytes()));
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    double[][] referenceLogits(int[] tokens) {
        return spec.referenceLogits(tensors, tokens);
    }
}

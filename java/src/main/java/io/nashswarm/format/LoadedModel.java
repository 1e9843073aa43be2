package io.nashswarm.format;

import io.nashswarm.model.ModelWeights;
import io.nashswarm.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model as {@link ModelLoader} found it. Closing it unmaps the weights.
 *
 * @param format   "huggingface", "gguf" or "llama2.c"
 * @param files    the files the weights were mapped from (config, index and shards for Hugging Face)
 * @param tensors  every stored tensor the model uses, in canonical order, as the file stores it
 * @param metadata the file's own metadata: GGUF key/values, safetensors {@code __metadata__}, else empty
 */
public record LoadedModel(ModelWeights weights, Optional<Tokenizer> tokenizer, String format, List<Path> files,
                          List<TensorEntry> tensors, Map<String, Object> metadata) implements AutoCloseable {
    public LoadedModel {
        files = List.copyOf(files);
        tensors = List.copyOf(tensors);
        metadata = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
    }

    public LoadedModel withTokenizer(Optional<Tokenizer> t) {
        return new LoadedModel(weights, t, format, files, tensors, metadata);
    }

    @Override
    public void close() {
        weights.close();
    }
}

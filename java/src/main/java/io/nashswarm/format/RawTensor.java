package io.nashswarm.format;

import io.nashswarm.tensor.QuantType;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * A tensor as a file's header describes it, before it is matched to the model.
 *
 * @param typeLabel the file's own name for the element type (for messages)
 * @param type      the engine's storage type, or null when the engine cannot use the file's type
 * @param shape     dimensions in the file's own notation (row-major for safetensors, ggml {@code ne} for GGUF)
 * @param data      exactly the tensor's bytes, memory-mapped
 */
public record RawTensor(String name, String typeLabel, QuantType type, long[] shape, MemorySegment data, Path file) {}

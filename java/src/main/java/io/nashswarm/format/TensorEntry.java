package io.nashswarm.format;

import java.nio.file.Path;
import java.util.List;

/**
 * One tensor as a checkpoint stores it, for {@code inspect} and messages.
 *
 * @param name       canonical name (see {@link io.nashswarm.model.ModelWeights})
 * @param source     its name in the file
 * @param type       stored type label ({@code f32}, {@code bf16}, {@code q8_0}, ...)
 * @param shape      logical shape: {@code [rows, cols]} (outputs, inputs) or {@code [length]}
 * @param bytes      bytes the tensor occupies in the file
 * @param transposed the file stores the matrix {@code [in][out]} (GPT-2 Conv1D)
 */
public record TensorEntry(String name, String source, String type, List<Long> shape, long bytes, Path file, boolean transposed) {}

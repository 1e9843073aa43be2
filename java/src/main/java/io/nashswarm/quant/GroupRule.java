package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.QuantType;

import java.util.OptionalInt;

/**
 * Which group size a matrix gets. Groups must divide the row (and be multiples of 32, the kernels'
 * unit), so a requested size does not fit every matrix: the tiny llama2.c models have a hidden size
 * of 172, which packed types store padded to 192 ({@link io.nashswarm.tensor.PaddedMatrix}).
 *
 * <p>The rule: the requested size if it divides the (padded) row, else the largest of 128, 64, 32 below
 * it that does. GGML blocks cannot be padded: a matrix whose rows 32 does not divide is kept in the
 * {@code fallback} float type (F16 or F32) and the report says so. Every byte of a fallback matrix is
 * counted in the model's bits/weight.
 */
public record GroupRule(int requested, QuantType fallback) {
    private static final int[] SMALLER = {128, 64, 32};

    public GroupRule {
        if (requested < 32 || requested % 32 != 0) {
            throw new EngineException("--group must be a positive multiple of 32, got " + requested);
        }
        if (fallback != QuantType.F16 && fallback != QuantType.F32) {
            throw new EngineException("--fallback must be f16 or f32, got " + fallback.label());
        }
    }

    /** The group size for rows of {@code cols} weights, or empty when the matrix must fall back. */
    public OptionalInt groupFor(int cols) {
        if (cols % requested == 0) {
            return OptionalInt.of(requested);
        }
        for (int g : SMALLER) {
            if (g < requested && cols % g == 0) {
                return OptionalInt.of(g);
            }
        }
        return OptionalInt.empty();
    }
}

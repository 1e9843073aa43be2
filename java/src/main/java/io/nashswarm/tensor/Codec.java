package io.nashswarm.tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * How floats become a type's stored codes, ggml's {@code from_float}: the codec column of
 * {@link QuantType}. Quantizers dispatch on the kind of codec, never on the type, so a new type of an
 * existing kind needs no code outside its table row, its matrix class and (for {@link Rows}) its encoder.
 */
public sealed interface Codec {
    /** Whole rows to bytes, element by element or block by block: the float types and the GGML block types. */
    @FunctionalInterface
    non-sealed interface Rows extends Codec {
        /**
         * Encodes {@code x[off..off+n)} at {@code out}'s position (little-endian); {@code n} is a multiple
         * of the type's block size (the caller, {@link QuantType#encodeRow}, checks it).
         *
         * @throws io.nashswarm.EngineException when the type cannot hold a value (quantized types refuse NaN and ±Inf)
         */
        void encode(float[] x, int off, int n, ByteBuffer out);
    }

    /**
     * Unsigned codes on the integer grid {@code s·(u − z)}, a scale (and zero) per group or per tensor
     * (the INT types; rounding and scale rules in {@code quant.GroupQuantizer}).
     */
    record IntegerGrid() implements Codec {}

    /**
     * Codes index a fixed table of levels, {@code w ≈ s·levels[u]} with {@code s} the group's (or
     * tensor's) absolute maximum, so {@code levels} spans [−1, 1] (NF4).
     *
     * @param levels ascending, one per code, with an exact 0
     */
    record Codebook(float[] levels) implements Codec {
        public Codebook {
            levels = levels.clone();
            for (int i = 1; i < levels.length; i++) {
                if (!(levels[i] > levels[i - 1])) {
                    throw new IllegalArgumentException("codebook levels must ascend: " + Arrays.toString(levels));
                }
            }
            if (Arrays.binarySearch(levels, 0f) < 0) {
                throw new IllegalArgumentException("codebook has no exact 0: " + Arrays.toString(levels));
            }
        }

        /** A copy of the levels, ascending. */
        @Override public float[] levels() {
            return levels.clone();
        }

        public float value(int u) {
            return levels[u];
        }

        /** The code of level 0 (what an all-zero group stores). */
        public int zeroCode() {
            return Arrays.binarySearch(levels, 0f);
        }

        /** The code of the level nearest to {@code v} (already divided by the scale); a tie goes to the lower level. */
        public int nearest(float v) {
            // Midpoints between neighbours; a binary search would be faster but quantization is offline.
            int best = 0;
            for (int i = 1; i < levels.length; i++) {
                if (v > 0.5f * (levels[i - 1] + levels[i])) {
                    best = i;
                }
            }
            return best;
        }

        @Override public boolean equals(Object o) {
            return o instanceof Codebook c && Arrays.equals(levels, c.levels);
        }

        @Override public int hashCode() {
            return Arrays.hashCode(levels);
        }

        @Override public String toString() {
            return "Codebook" + Arrays.toString(levels);
        }
    }

    /**
     * Widths vary per group or per weight and an allocator chooses them ({@code quant.MixedQuantizer},
     * {@code quant.PerWeightQuantizer}): floats alone do not determine the codes.
     */
    record Widths() implements Codec {}
}

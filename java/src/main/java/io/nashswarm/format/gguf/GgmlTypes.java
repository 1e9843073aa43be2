package io.nashswarm.format.gguf;

import java.util.Map;
import java.util.Optional;

/**
 * Names of ggml tensor type ids (ggml.h {@code enum ggml_type}), so a file using a type the engine
 * does not implement gets "unsupported type Q4_K" rather than a bare number. Ids 4, 5 and 31-33,
 * 36-38 were removed from ggml and are not listed.
 */
public final class GgmlTypes {
    private GgmlTypes() {}

    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(0, "F32"), Map.entry(1, "F16"), Map.entry(2, "Q4_0"), Map.entry(3, "Q4_1"),
            Map.entry(6, "Q5_0"), Map.entry(7, "Q5_1"), Map.entry(8, "Q8_0"), Map.entry(9, "Q8_1"),
            Map.entry(10, "Q2_K"), Map.entry(11, "Q3_K"), Map.entry(12, "Q4_K"), Map.entry(13, "Q5_K"),
            Map.entry(14, "Q6_K"), Map.entry(15, "Q8_K"), Map.entry(16, "IQ2_XXS"), Map.entry(17, "IQ2_XS"),
            Map.entry(18, "IQ3_XXS"), Map.entry(19, "IQ1_S"), Map.entry(20, "IQ4_NL"), Map.entry(21, "IQ3_S"),
            Map.entry(22, "IQ2_S"), Map.entry(23, "IQ4_XS"), Map.entry(24, "I8"), Map.entry(25, "I16"),
            Map.entry(26, "I32"), Map.entry(27, "I64"), Map.entry(28, "F64"), Map.entry(29, "IQ1_M"),
            Map.entry(30, "BF16"), Map.entry(34, "TQ1_0"), Map.entry(35, "TQ2_0"), Map.entry(39, "MXFP4"));

    public static Optional<String> name(int id) {
        return Optional.ofNullable(NAMES.get(id));
    }
}

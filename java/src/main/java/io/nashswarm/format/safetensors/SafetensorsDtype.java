package io.nashswarm.format.safetensors;

import io.nashswarm.tensor.QuantType;

import java.util.Arrays;
import java.util.Optional;

/** The element types the safetensors format names, with their sizes; only some are weights the engine can use. */
public enum SafetensorsDtype {
    BOOL(1, null), U8(1, null), I8(1, null), F8_E5M2(1, null), F8_E4M3(1, null), F8_E8M0(1, null),
    I16(2, null), U16(2, null), F16(2, QuantType.F16), BF16(2, QuantType.BF16),
    I32(4, null), U32(4, null), F32(4, QuantType.F32),
    I64(8, null), U64(8, null), F64(8, null);

    private final int size;
    private final QuantType quantType;

    SafetensorsDtype(int size, QuantType quantType) {
        this.size = size;
        this.quantType = quantType;
    }

    public int size() { return size; }

    /** The engine's storage type for this dtype, if the engine computes on it directly. */
    public Optional<QuantType> quantType() { return Optional.ofNullable(quantType); }

    public static Optional<SafetensorsDtype> byName(String name) {
        return Arrays.stream(values()).filter(d -> d.name().equals(name)).findFirst();
    }

    public static SafetensorsDtype of(QuantType type) {
        return switch (type) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            default -> throw new IllegalArgumentException("safetensors has no " + type.label() + " dtype");
        };
    }
}

package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/** Builds the {@link WeightMatrix} for a stored type; loaders call this, never the classes directly. */
public final class Matrices {
    private Matrices() {}

    /**
     * Wraps {@code data} (which must hold exactly the matrix) without copying.
     *
     * @param rows outputs, {@code cols} inputs, whatever the storage layout
     */
    public static WeightMatrix of(QuantType type, MemorySegment data, int rows, int cols, Layout layout) {
        long need = type.bytesFor((long) rows * cols);
        if (data.byteSize() != need) {
            throw new IllegalArgumentException(type.label() + " " + rows + "x" + cols + " needs " + need + " bytes, got " + data.byteSize());
        }
        if (layout == Layout.IN_OUT && type.blockSize() != 1) {
            throw new IllegalArgumentException(type.label() + " cannot be stored [in][out]");
        }
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols, layout);
            case F16 -> new F16Matrix(data, rows, cols, layout);
            case BF16 -> new BF16Matrix(data, rows, cols, layout);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case INT8, INT4, INT2, NF4, FP4, MIXED, PERWEIGHT ->
                    throw new IllegalArgumentException(type.label() + " is stored as named sections; use Matrices.packed");
        };
    }

    /**
     * Wraps the named sections of a packed type (see {@link PackedMatrix} for the contract) without
     * copying; every section is checked against {@link QuantType#sections} first.
     */
    public static PackedMatrix packed(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        return switch (type) {
            case INT8, INT4, INT2 -> IntGroupMatrix.fromSections(type, rows, cols, spec, sections);
            case NF4 -> NF4Matrix.fromSections(rows, cols, spec, sections);
            case FP4 -> FP4Matrix.fromSections(rows, cols, spec, sections);
            case MIXED -> MixedGroupMatrix.fromSections(rows, cols, spec, sections);
            case PERWEIGHT -> PerWeightMixedMatrix.fromSections(rows, cols, spec, sections);
            default -> throw new IllegalArgumentException(type.label() + " is not a packed type; use Matrices.of");
        };
    }
}

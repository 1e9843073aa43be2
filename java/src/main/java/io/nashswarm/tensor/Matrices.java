package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/** Builds the {@link WeightMatrix} for a stored type; loaders call this, never the classes directly. */
public final class Matrices {
    private Matrices() {}

    /**
     * Wraps {@code data} (which must hold exactly the matrix) without copying: {@link QuantType#open(MemorySegment, int, int, Layout)}.
     *
     * @param rows outputs, {@code cols} inputs, whatever the storage layout
     */
    public static WeightMatrix of(QuantType type, MemorySegment data, int rows, int cols, Layout layout) {
        return type.open(data, rows, cols, layout);
    }

    /**
     * Wraps the named sections of a packed type (see {@link PackedMatrix} for the contract) without
     * copying; every section is checked against {@link QuantType#sections} first.
     */
    public static PackedMatrix packed(QuantType type, int rows, int cols, GroupSpec spec, Map<String, MemorySegment> sections) {
        return type.open(rows, cols, spec, sections);
    }

    /** Whether the table-lookup kernels run here (512-bit vectors), so that int2/int4 groups and ggml's Q4_1, Q5_0 and Q5_1 use them. */
    public static boolean tableLookup() {
        return LutKernels.NATIVE;
    }

    /**
     * Off-heap bytes of the copies the kernels made at first use (bit planes: int2 groups, int4 groups of 32, mixed widths, ggml Q4_1,
     * Q5_0, Q5_1; byte rows: int8 groups, int4 groups of 64k, ggml Q8_0, Q4_0, Q2_K–Q6_K) of every matrix still reachable in this process, for memory reports.
     */
    public static long repackedBytes() {
        return BitPlanes.residentBytes();
    }
}

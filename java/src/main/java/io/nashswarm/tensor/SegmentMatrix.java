package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A matrix stored as one contiguous segment (the float and GGML block types, as opposed to the named
 * sections of a {@link PackedMatrix}): what writers copy out and {@link QuantType#open(MemorySegment, int, int, Layout)} reopens.
 */
public interface SegmentMatrix extends WeightMatrix {
    /** The stored bytes, exactly {@code type().bytesFor(rows·cols)}. */
    MemorySegment data();

    /** How the segment is ordered; only float types may be {@link Layout#IN_OUT}. */
    Layout layout();
}

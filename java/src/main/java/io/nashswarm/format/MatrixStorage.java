package io.nashswarm.format;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.SegmentMatrix;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * What a weight matrix stores, for writers: its type, layout, group spec, mixed-width counts and named
 * byte sections (the matrix's own memory, not a copy). Dense and GGML types have one section,
 * {@link #DATA}; packed types the sections of {@link PackedMatrix}.
 *
 * @param layout OUT_IN except for float matrices a loader kept {@code [in][out]} (GPT-2 Conv1D)
 * @param spec   null for dense and GGML types
 * @param mix    group counts of a mixed matrix, else null
 */
public record MatrixStorage(QuantType type, Layout layout, GroupSpec spec, MixCounts mix,
                            SequencedMap<String, MemorySegment> sections) {
    /** The one section of a dense or GGML matrix. */
    public static final String DATA = "data";

    /** @param name the matrix's tensor name, for the message when it cannot be stored */
    public static MatrixStorage of(String name, WeightMatrix m) {
        return switch (m) {
            case PackedMatrix p -> new MatrixStorage(p.type(), Layout.OUT_IN, p.spec(),
                    p.counts(), p.sections());
            case SegmentMatrix d -> dense(d.type(), d.layout(), d.data());
            default -> throw new EngineException("tensor " + name + ": a " + m.getClass().getSimpleName() + " ("
                    + m.type().label() + ") exposes no stored bytes to write");
        };
    }

    private static MatrixStorage dense(QuantType type, Layout layout, MemorySegment data) {
        SequencedMap<String, MemorySegment> s = new LinkedHashMap<>();
        s.put(DATA, data);
        return new MatrixStorage(type, layout, null, null, s);
    }

    /** The bytes of a dense or GGML matrix (its only section). */
    public MemorySegment data() {
        MemorySegment d = sections.get(DATA);
        if (d == null) {
            throw new IllegalStateException(type.label() + " is stored as sections " + sections.keySet());
        }
        return d;
    }

    public long bytes() {
        return sections.values().stream().mapToLong(MemorySegment::byteSize).sum();
    }
}

package io.nashswarm.format.packed;

import io.nashswarm.EngineException;
import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.MatrixStorage;
import io.nashswarm.format.TensorSpec;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.Section;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the header must satisfy before a loader touches a section: each tensor's type, layout, padding
 * and group spec are consistent; its sections are exactly the type's section table ({@link QuantType#sections})
 * and lie inside the file; the tensors are exactly those the config implies; no two sections overlap.
 * Every failure names the tensor and field.
 *
 * @param fileSize   bytes of the whole file
 * @param dataOffset where the data region starts (sections are offsets from it)
 */
record HeaderChecks(Fields f, long fileSize, long dataOffset) {
    void vector(String what, QuantType type) {
        if (type != QuantType.F32) {
            throw f.fail(what + ": vectors are stored as f32, not " + type.label());
        }
    }

    void layout(String what, QuantType type, boolean matrix, Layout layout) {
        if (layout == Layout.IN_OUT && (!matrix || type.blockSize() != 1 || type.isPacked())) {
            throw f.fail(what + ": a " + type.label() + (matrix ? " matrix" : " vector") + " cannot be stored [in][out]");
        }
    }

    void storedCols(String what, QuantType type, boolean matrix, int cols, int storedCols) {
        if (!matrix || !type.isPacked() || !PaddedMatrix.needed(cols) || storedCols != PaddedMatrix.storedCols(cols)) {
            throw f.fail(what + ": stored_cols " + storedCols + " is not the padding of a packed matrix's rows of " + cols
                    + (matrix && type.isPacked() && PaddedMatrix.needed(cols) ? " (expected " + PaddedMatrix.storedCols(cols) + ")" : ""));
        }
    }

    void groupSpec(String what, QuantType type, GroupSpec spec, int storedCols) {
        try {
            spec.check(type, storedCols);
        } catch (EngineException e) {
            throw f.fail(what + ": " + e.getMessage());
        }
    }

    /** The sections a tensor of this type and shape must have, from the type table. */
    List<Section> expectedSections(String what, QuantType type, int rows, int cols, GroupSpec spec, MixCounts mix) {
        try {
            if (type.isPacked()) {
                return type.sections(rows, cols, spec, mix);
            }
            return List.of(new Section(MatrixStorage.DATA, type.bytesFor((long) rows * cols)));
        } catch (EngineException | IllegalArgumentException e) {
            throw f.fail(what + ": " + e.getMessage());
        }
    }

    /**
     * The stored sections in table order: exactly the expected names with the expected sizes, each inside the file.
     *
     * @param given the sections the header lists, by name, in its order
     * @param kind  the type (and spec) for messages, e.g. "int4 g64"
     */
    List<TensorRecord.Section> sections(String what, List<Section> expected, Map<String, TensorRecord.Section> given, String kind) {
        List<TensorRecord.Section> out = new ArrayList<>();
        for (Section e : expected) {
            TensorRecord.Section s = given.get(e.name());
            if (s == null) {
                throw f.fail(what + ": section '" + e.name() + "' is missing (a " + kind + " matrix has "
                        + expected.stream().map(Section::name).toList() + ")");
            }
            if (s.bytes() != e.bytes()) {
                throw f.fail(what + ": section '" + e.name() + "' has " + s.bytes() + " bytes, but a " + kind
                        + " tensor of this shape needs " + e.bytes());
            }
            inFile(what, s);
            out.add(s);
        }
        for (String name : given.keySet()) {
            if (expected.stream().noneMatch(e -> e.name().equals(name))) {
                throw f.fail(what + ": unexpected section '" + name + "' (a " + kind + " tensor has "
                        + expected.stream().map(Section::name).toList() + ")");
            }
        }
        return out;
    }

    private void inFile(String what, TensorRecord.Section s) {
        if (s.offset() % PackedFormat.ALIGNMENT != 0) {
            throw f.fail(what + ": section '" + s.name() + "' offset " + s.offset() + " is not a multiple of " + PackedFormat.ALIGNMENT);
        }
        long room = fileSize - dataOffset;
        if (s.offset() > room || s.bytes() > room - s.offset()) {
            throw f.fail(what + ": section '" + s.name() + "' (" + s.bytes() + " bytes at data offset " + s.offset()
                    + ") lies outside the file: the data region holds " + Math.max(0, room) + " bytes (truncated file?)");
        }
    }

    /** Exactly the tensors the config implies, each with the implied shape. */
    void againstConfig(List<TensorRecord> tensors, ModelConfig config) {
        Map<String, TensorRecord> byName = new HashMap<>();
        for (TensorRecord t : tensors) {
            if (byName.put(t.name(), t) != null) {
                throw f.fail("tensor " + t.name() + " is listed twice");
            }
        }
        Set<String> expected = new HashSet<>();
        for (TensorSpec spec : CanonicalTensors.of(config)) {
            expected.add(spec.name());
            TensorRecord t = byName.get(spec.name());
            if (t == null) {
                throw f.fail("missing tensor " + spec.name() + " (the config describes a " + describe(config) + ")");
            }
            if (t.matrix() != spec.matrix() || t.rows() != spec.rows() || t.cols() != spec.cols()) {
                throw f.fail("tensor " + t.name() + " has shape " + t.shape() + " but the config implies " + spec.shape());
            }
        }
        for (TensorRecord t : tensors) {
            if (!expected.contains(t.name())) {
                throw f.fail("unexpected tensor " + t.name() + " (not part of a " + describe(config) + ")");
            }
        }
    }

    private static String describe(ModelConfig c) {
        return c.architecture().name().toLowerCase(Locale.ROOT) + " model with " + c.nLayers() + " layers"
                + (c.tiedEmbeddings() ? " and a tied LM head" : "");
    }

    void noOverlap(List<TensorRecord> tensors) {
        record Span(long start, long end, String what) {}
        List<Span> spans = new ArrayList<>();
        for (TensorRecord t : tensors) {
            for (TensorRecord.Section s : t.sections()) {
                if (s.bytes() > 0) {
                    spans.add(new Span(s.offset(), s.offset() + s.bytes(), "tensor " + t.name() + " section '" + s.name() + "'"));
                }
            }
        }
        spans.sort(Comparator.comparingLong(Span::start));
        for (int i = 1; i < spans.size(); i++) {
            if (spans.get(i).start() < spans.get(i - 1).end()) {
                throw f.fail(spans.get(i - 1).what() + " and " + spans.get(i).what() + " overlap");
            }
        }
    }
}

package io.nashswarm.format.packed;

import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.QuantType;

import java.util.List;

/**
 * One tensor as the packed file's header describes it.
 *
 * @param rows    outputs of a matrix, or the length of a vector
 * @param cols    inputs of a matrix; 1 for a vector
 * @param spec    group spec of a packed type, else null
 * @param mix     group counts per width of a mixed matrix, else null
 * @param layout  OUT_IN except for float matrices stored {@code [in][out]}
 * @param storedCols {@code cols}, or for a packed matrix whose rows are padded with zero weights
 *                   ({@link io.nashswarm.tensor.PaddedMatrix}) the padded row length its sections hold
 */
public record TensorRecord(String name, QuantType type, boolean matrix, int rows, int cols, int storedCols, Layout layout,
                           GroupSpec spec, MixCounts mix, List<Section> sections) {
    /**
     * One stored section: {@code bytes} bytes at {@code offset} from the start of the data region.
     *
     * @param crc32c CRC32C of the bytes
     */
    public record Section(String name, long offset, long bytes, int crc32c) {}

    public TensorRecord {
        sections = List.copyOf(sections);
    }

    /** Bytes of all sections (for a matrix: its {@code storageBytes()}). */
    public long bytes() {
        return sections.stream().mapToLong(Section::bytes).sum();
    }

    public boolean padded() {
        return storedCols != cols;
    }

    /** Weights of a matrix, elements of a vector. */
    public long elements() {
        return (long) rows * cols;
    }

    /** {@code [rows, cols]} for a matrix, {@code [length]} for a vector. */
    public List<Long> shape() {
        return matrix ? List.of((long) rows, (long) cols) : List.of((long) rows);
    }

    public Section section(String name) {
        return sections.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    TensorRecord withSections(List<Section> s) {
        return new TensorRecord(name, type, matrix, rows, cols, storedCols, layout, spec, mix, s);
    }
}

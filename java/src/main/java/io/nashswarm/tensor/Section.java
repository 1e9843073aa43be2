package io.nashswarm.tensor;

/**
 * One named byte section of a packed matrix (see {@link PackedMatrix}); {@link QuantType#sections}
 * gives the sizes, a file format stores the bytes under these names.
 */
public record Section(String name, long bytes) {
    /** Packed codes (integer codes or codebook indices), the bulk of the matrix. */
    public static final String CODES = "codes";
    /** fp16 scales, one per group (or one for the tensor). */
    public static final String SCALES = "scales";
    /** Zero points of asymmetric types, one per scale, packed at the code width. */
    public static final String ZEROS = "zeros";
    /** Mixed matrices: the width of each group, 2 bits per group. */
    public static final String MAP = "map";
    /** Mixed matrices with outliers: int32 start of each row's outliers, rows + 1 entries. */
    public static final String OUTLIER_ROWS = "outlier_rows";
    /** Mixed matrices with outliers: (uint16 column, fp16 correction) per outlier. */
    public static final String OUTLIERS = "outliers";

    public Section {
        if (bytes < 0) {
            throw new IllegalArgumentException("section " + name + " has negative size " + bytes);
        }
    }
}

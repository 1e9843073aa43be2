package io.nashswarm.format.gguf;

import java.util.Optional;

/** GGUF metadata value types, with their ids in the file and the fewest bytes a value can take. */
public enum GgufType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4),
    BOOL(7, 1), STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private final int id;
    private final int minBytes;

    GgufType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    public int id() { return id; }

    /** Bytes of the smallest value of this type (an empty string or array still has its length fields). */
    public int minBytes() { return minBytes; }

    public static Optional<GgufType> byId(int id) {
        for (GgufType t : values()) {
            if (t.id == id) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}

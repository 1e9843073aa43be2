package io.nashswarm.format.gguf;

import java.util.List;

/**
 * A GGUF array: one element type and the items, as the Java values {@link GgufValue} documents
 * (for an array of arrays the items are {@code GgufArray}s).
 */
public record GgufArray(GgufType elementType, List<?> items) {
    public GgufArray {
        items = List.copyOf(items);
    }
}

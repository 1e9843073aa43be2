package io.nashswarm.format.gguf;

import io.nashswarm.tensor.QuantType;

/**
 * A tensor's entry in a GGUF file.
 *
 * @param ne     dimensions, innermost first (ggml order): a matrix has {@code ne[0]} columns and {@code ne[1]} rows
 * @param offset byte offset of the data from the start of the data section
 * @param bytes  bytes of data
 */
public record GgufTensorInfo(String name, QuantType type, long[] ne, long offset, long bytes) {
    public long elements() {
        long n = 1;
        for (long d : ne) {
            n *= d;
        }
        return n;
    }
}

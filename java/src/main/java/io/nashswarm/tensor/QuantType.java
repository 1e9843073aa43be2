package io.nashswarm.tensor;

import java.util.Arrays;
import java.util.Optional;

/**
 * The table of weight storage types and their traits, in the spirit of ggml's type_traits: adding a
 * type means adding a row here and a {@link WeightMatrix} implementation, not editing switches.
 *
 * <p>{@code blockSize} weights are stored in {@code bytesPerBlock} bytes, scales included, so
 * {@code bitsPerWeight} is the real storage cost. {@code ggmlId} is the GGUF/ggml type id, or -1
 * when GGUF has no such type.
 */
public enum QuantType {
    //    name    block bytes ggml
    F32 ("f32",     1,   4,    0),
    F16 ("f16",     1,   2,    1),
    BF16("bf16",    1,   2,   30),
    Q8_0("q8_0",   32,  34,    8),
    Q4_0("q4_0",   32,  18,    2);

    private final String label;
    private final int blockSize;
    private final int bytesPerBlock;
    private final int ggmlId;

    QuantType(String label, int blockSize, int bytesPerBlock, int ggmlId) {
        this.label = label;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
        this.ggmlId = ggmlId;
    }

    public String label() { return label; }
    public int blockSize() { return blockSize; }
    public int bytesPerBlock() { return bytesPerBlock; }
    public int ggmlId() { return ggmlId; }
    public double bitsPerWeight() { return 8.0 * bytesPerBlock / blockSize; }

    /** Bytes needed to store {@code count} weights; {@code count} must be a multiple of the block size. */
    public long bytesFor(long count) {
        if (count % blockSize != 0) {
            throw new IllegalArgumentException(count + " weights is not a multiple of the " + label + " block size " + blockSize);
        }
        return count / blockSize * bytesPerBlock;
    }

    public static Optional<QuantType> byGgmlId(int id) {
        return Arrays.stream(values()).filter(t -> t.ggmlId == id && id >= 0).findFirst();
    }

    public static Optional<QuantType> byLabel(String label) {
        return Arrays.stream(values()).filter(t -> t.label.equalsIgnoreCase(label)).findFirst();
    }
}

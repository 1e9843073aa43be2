package io.nashswarm.tensor;

import io.nashswarm.EngineException;

/**
 * How a packed matrix groups its weights for scales: every {@code groupSize} consecutive weights of a
 * row share an fp16 scale (and, if {@code asymmetric}, a zero point), or, with {@code perTensor}, the
 * whole tensor shares one. Per-channel quantization is {@code groupSize == cols}.
 *
 * <p>Group sizes are multiples of 32 (the kernels' unit) and must divide the row. A file format
 * stores a spec as {@code groupSize} plus {@link #flags()}.
 */
public record GroupSpec(int groupSize, boolean asymmetric, boolean perTensor) {
    public static final int DEFAULT_GROUP = 64;
    /** Group sizes and row lengths of packed types are multiples of this many weights. */
    public static final int UNIT = 32;

    private static final int FLAG_ASYMMETRIC = 1, FLAG_PER_TENSOR = 2;

    public GroupSpec {
        if (groupSize < UNIT || groupSize % UNIT != 0) {
            throw new EngineException("group size " + groupSize + " is not a positive multiple of " + UNIT);
        }
    }

    /** Symmetric groups ({@code w = s·q}). */
    public static GroupSpec symmetric(int groupSize) {
        return new GroupSpec(groupSize, false, false);
    }

    /** Asymmetric groups ({@code w = s·(u − z)}). */
    public static GroupSpec asymmetric(int groupSize) {
        return new GroupSpec(groupSize, true, false);
    }

    /** One scale per row (group = whole row). */
    public static GroupSpec perChannel(int cols, boolean asymmetric) {
        return new GroupSpec(cols, asymmetric, false);
    }

    /** One scale for the whole tensor (the seeds' strawman). */
    public static GroupSpec perTensor(int cols, boolean asymmetric) {
        return new GroupSpec(cols, asymmetric, true);
    }

    /** Flags for a file header: bit 0 asymmetric, bit 1 per-tensor. */
    public int flags() {
        return (asymmetric ? FLAG_ASYMMETRIC : 0) | (perTensor ? FLAG_PER_TENSOR : 0);
    }

    public static GroupSpec fromFlags(int groupSize, int flags) {
        if ((flags & ~(FLAG_ASYMMETRIC | FLAG_PER_TENSOR)) != 0) {
            throw new EngineException("unknown group spec flags 0x" + Integer.toHexString(flags));
        }
        return new GroupSpec(groupSize, (flags & FLAG_ASYMMETRIC) != 0, (flags & FLAG_PER_TENSOR) != 0);
    }

    /** Checks that this spec fits a row of {@code cols} weights of {@code type}. */
    public void check(QuantType type, int cols) {
        if (cols % groupSize != 0) {
            throw new EngineException("group size " + groupSize + " does not divide the row length " + cols + " of a " + type.label() + " matrix");
        }
        if (perTensor && groupSize != cols) {
            throw new EngineException("a per-tensor spec must have group size = row length " + cols + ", got " + groupSize);
        }
        if (type.codec() instanceof Codec.Codebook && asymmetric) {
            throw new EngineException(type.label() + " is symmetric (absmax scale); it has no zero points");
        }
        if (type == QuantType.MIXED && perTensor) {
            throw new EngineException("a mixed matrix has a scale per group; per-tensor scales are not supported");
        }
    }

    /** Groups in one row of {@code cols} weights. */
    public int groupsPerRow(int cols) {
        return cols / groupSize;
    }

    @Override
    public String toString() {
        return (perTensor ? "per-tensor" : "g" + groupSize) + (asymmetric ? " asym" : " sym");
    }
}

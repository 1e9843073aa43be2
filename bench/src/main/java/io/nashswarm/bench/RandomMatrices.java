package io.nashswarm.bench;

import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Off-heap weight matrices of random values in any stored type, for the kernel benchmarks. */
public final class RandomMatrices {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomMatrices() {}

    /** Parses {@code "ROWSxCOLS"}. */
    public static int[] shape(String s) {
        String[] p = s.toLowerCase().split("x");
        return new int[]{Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
    }

    /** A {@code rows x cols} matrix of uniform values in [-1, 1) (block types: random quants, scales near 0.01). */
    public static WeightMatrix create(Arena arena, QuantType type, int rows, int cols, Layout layout, long seed) {
        long count = (long) rows * cols;
        MemorySegment seg = arena.allocate(type.bytesFor(count), 4096);
        SplittableRandom rnd = new SplittableRandom(seed);
        switch (type) {
            case F32 -> { for (long i = 0; i < count; i++) seg.setAtIndex(LE32, i, uniform(rnd)); }
            case F16 -> { for (long i = 0; i < count; i++) seg.setAtIndex(LE16, i, Float.floatToFloat16(uniform(rnd))); }
            case BF16 -> { for (long i = 0; i < count; i++) seg.setAtIndex(LE16, i, (short) (Float.floatToRawIntBits(uniform(rnd)) >>> 16)); }
            default -> {
                int blockBytes = type.bytesPerBlock();
                for (long o = 0; o < seg.byteSize(); o += blockBytes) {
                    seg.set(LE16, o, Float.floatToFloat16(0.01f * (1 + rnd.nextFloat())));
                    for (int j = 2; j < blockBytes; j += 1) {
                        seg.set(ValueLayout.JAVA_BYTE, o + j, (byte) rnd.nextInt(256));
                    }
                }
            }
        }
        return Matrices.of(type, seg, rows, cols, layout);
    }

    public static float[] vector(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = uniform(rnd);
        }
        return x;
    }

    private static float uniform(SplittableRandom rnd) {
        return rnd.nextFloat() * 2 - 1;
    }
}

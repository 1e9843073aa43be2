package io.nashswarm.bench;

import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Off-heap weight matrices of random values in any stored type, for the kernel benchmarks. */
public final class RandomMatrices {
    private RandomMatrices() {}

    /** Parses {@code "ROWSxCOLS"}. */
    public static int[] shape(String s) {
        String[] p = s.toLowerCase().split("x");
        return new int[]{Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
    }

    /**
     * A {@code rows x cols} matrix of uniform values in [-1, 1), encoded by the type's row codec; for a type the engine
     * only loads (ggml's K-quants, Q4_1, Q5_x), random blocks ({@link #randomBlocks}).
     */
    public static WeightMatrix create(Arena arena, QuantType type, int rows, int cols, Layout layout, long seed) {
        if (!type.encodable()) {
            return type.open(randomBlocks(arena, type, rows, cols, seed), rows, cols, layout);
        }
        // Stored runs: the rows, or for a float matrix kept [in][out] its columns.
        int run = layout == Layout.OUT_IN ? cols : rows, runs = layout == Layout.OUT_IN ? rows : cols;
        long runBytes = type.bytesFor(run);
        MemorySegment seg = arena.allocate(runBytes * runs, 4096);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[run];
        for (int i = 0; i < runs; i++) {
            for (int j = 0; j < run; j++) {
                v[j] = uniform(rnd);
            }
            type.encodeRow(v, 0, run, seg.asSlice(i * runBytes, runBytes).asByteBuffer());
        }
        return type.open(seg, rows, cols, layout);
    }

    /**
     * {@code rows x cols} weights of a block type as random bytes, with each block's fp16 scale fields ({@code d}, and
     * {@code dmin} where the type has one) set to small finite values, so that every code, sub-scale and minimum is
     * random and the products finite.
     */
    public static MemorySegment randomBlocks(Arena arena, QuantType type, int rows, int cols, long seed) {
        long blocks = (long) rows * cols / type.blockSize();
        MemorySegment seg = arena.allocate(blocks * type.bytesPerBlock(), 4096);
        int[] halves = switch (type) {
            case Q6_K -> new int[] {208};
            case Q3_K -> new int[] {108};
            case Q2_K -> new int[] {80, 82};
            case Q4_K, Q5_K, Q4_1, Q5_1 -> new int[] {0, 2};
            default -> new int[] {0}; // Q4_0, Q5_0, Q8_0, IQ4_NL, IQ4_XS: d first
        };
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] b = new byte[type.bytesPerBlock()];
        for (long k = 0; k < blocks; k++) {
            rnd.nextBytes(b);
            for (int f : halves) {
                short h = Float.floatToFloat16((float) (rnd.nextDouble() * 0.02 - 0.005));
                b[f] = (byte) h;
                b[f + 1] = (byte) (h >> 8);
            }
            MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_BYTE, k * b.length, b.length);
        }
        return seg;
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

package io.nashswarm.bench;

import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Off-heap weight matrices of random values in any stored type, for the kernel benchmarks. */
public final class RandomMatrices {
    private RandomMatrices() {}

    /** Parses {@code "ROWSxCOLS"}. */
    public static int[] shape(String s) {
        String[] p = s.toLowerCase().split("x");
        return new int[]{Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
    }

    /** A {@code rows x cols} matrix of uniform values in [-1, 1), encoded by the type's row codec. */
    public static WeightMatrix create(Arena arena, QuantType type, int rows, int cols, Layout layout, long seed) {
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

package io.nashswarm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * A K-quant's product (the 16-bit product kernels, on every machine) against its float kernel ({@link GgmlBlockMatrix#matmulDequantized}, dequantized rows times x), one thread,
 * each in a loop of its own in one process, best of N; the matrix is random blocks in native memory, sized to stay in cache, so this
 * times the kernels, not memory. In this package to reach the float kernel, which the engine no
 * longer calls for these types.
 *
 * <p>Usage: {@code GgmlKernelTiming [q2_K|q3_K|q4_K|q5_K|q6_K] [ROWS COLS [REPEATS]]} (default q4_K 2048 2048 150).
 */
public final class GgmlKernelTiming {
    private GgmlKernelTiming() {}

    /**
     * Best of {@code repeats} timed runs of one kernel (each kernel in a loop of its own, not alternated), after 3 s of
     * untimed runs: 150 runs of a small matrix left the 16-bit kernels in C1 code, which boxes vectors (q2_K 2048×2048:
     * 0.88 ms and 272 KB allocated per product, against 0.085 ms and none once compiled by C2).
     */
    private static long bestOf(int repeats, Runnable product) {
        for (long end = System.nanoTime() + 3_000_000_000L; System.nanoTime() < end; ) {
            product.run();
        }
        long best = Long.MAX_VALUE;
        for (int it = 0; it < repeats; it++) {
            long t0 = System.nanoTime();
            product.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        return best;
    }

    public static void main(String[] args) {
        QuantType t = QuantType.Q4_K;
        if (args.length > 0 && !Character.isDigit(args[0].charAt(0))) {
            t = QuantType.valueOf(args[0].toUpperCase(java.util.Locale.ROOT));
            args = java.util.Arrays.copyOfRange(args, 1, args.length);
        }
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 150;
        Random rng = new Random(1);
        MemorySegment seg = io.nashswarm.bench.RandomMatrices.randomBlocks(Arena.ofAuto(), t, rows, cols, 1);
        GgmlBlockMatrix m = switch (t) {
            case Q4_K -> new Q4_KMatrix(seg, rows, cols);
            case Q6_K -> new Q6_KMatrix(seg, rows, cols);
            case Q5_K -> new Q5_KMatrix(seg, rows, cols);
            case Q3_K -> new Q3_KMatrix(seg, rows, cols);
            case Q2_K -> new Q2_KMatrix(seg, rows, cols);
            default -> throw new IllegalArgumentException("q2_K, q3_K, q4_K, q5_K or q6_K, not " + t.label());
        };
        float[] x = new float[cols], y = new float[rows];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        long bestInt = bestOf(repeats, () -> m.matvec(x, y, 0, rows));
        long bestFloat = bestOf(repeats, () -> m.matmulDequantized(x, y, 1, 0, rows));
        // Bytes allocated by one product of each, after warm-up: more than the scratch means the JIT boxed vectors.
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long a0 = mx.getCurrentThreadAllocatedBytes();
        m.matvec(x, y, 0, rows);
        long a1 = mx.getCurrentThreadAllocatedBytes();
        m.matmulDequantized(x, y, 1, 0, rows);
        long a2 = mx.getCurrentThreadAllocatedBytes();
        double w = (double) rows * cols;
        System.out.printf("| kernel | %dx%d ms | Gweights/s |%n|---|---:|---:|%n", rows, cols);
        System.out.printf("| %s product (16-bit products) | %.3f | %.2f |%n", t.label(), bestInt / 1e6, w / bestInt);
        System.out.printf("| %s float (dequantized rows) | %.3f | %.2f |%n", t.label(), bestFloat / 1e6, w / bestFloat);
        System.out.printf("product ÷ float speed: %.2fx (best of %d each); allocated per product: product %d KB, float %d KB%n",
                (double) bestFloat / bestInt, repeats, (a1 - a0) >> 10, (a2 - a1) >> 10);
    }
}

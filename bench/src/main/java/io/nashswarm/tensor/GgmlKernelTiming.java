package io.nashswarm.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * Q4_K's integer kernel ({@link Q4_KMatrix#matmul}, on q8 activations) against its float kernel
 * ({@link GgmlBlockMatrix#matmulDequantized}, dequantized rows times x), one thread, alternated in one
 * process, best of N; the matrix is random blocks in native memory, sized to stay in cache, so this
 * times the kernels, not memory. In this package to reach the float kernel, which the engine no
 * longer calls for Q4_K.
 *
 * <p>Usage: {@code GgmlKernelTiming [ROWS COLS [REPEATS]]} (default 2048 2048 150).
 */
public final class GgmlKernelTiming {
    private GgmlKernelTiming() {}

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 150;
        QuantType t = QuantType.Q4_K;
        Random rng = new Random(1);
        int blocks = rows * cols / t.blockSize();
        MemorySegment seg = Arena.ofAuto().allocate((long) blocks * t.bytesPerBlock(), 64);
        byte[] b = new byte[t.bytesPerBlock()];
        for (int k = 0; k < blocks; k++) {
            rng.nextBytes(b);
            MemorySegment.copy(b, 0, seg, ValueLayout.JAVA_BYTE, (long) k * b.length, b.length);
            for (int f : new int[] {0, 2}) {   // d and dmin: small finite halves
                seg.set(GgmlBlockMatrix.F16, (long) k * b.length + f, Float.floatToFloat16((float) (rng.nextDouble() * 0.02 - 0.005)));
            }
        }
        Q4_KMatrix m = new Q4_KMatrix(seg, rows, cols);
        float[] x = new float[cols], y = new float[rows];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        long bestInt = Long.MAX_VALUE, bestFloat = Long.MAX_VALUE;
        for (int it = 0; it < repeats; it++) {
            long t0 = System.nanoTime();
            m.matvec(x, y, 0, rows);
            long t1 = System.nanoTime();
            m.matmulDequantized(x, y, 1, 0, rows);
            long t2 = System.nanoTime();
            bestInt = Math.min(bestInt, t1 - t0);
            bestFloat = Math.min(bestFloat, t2 - t1);
        }
        double w = (double) rows * cols;
        System.out.printf("| kernel | %dx%d ms | Gweights/s |%n|---|---:|---:|%n", rows, cols);
        System.out.printf("| q4_K integer (q8 activations) | %.3f | %.2f |%n", bestInt / 1e6, w / bestInt);
        System.out.printf("| q4_K float (dequantized rows) | %.3f | %.2f |%n", bestFloat / 1e6, w / bestFloat);
        System.out.printf("integer ÷ float speed: %.2fx (best of %d, alternated)%n", (double) bestFloat / bestInt, repeats);
    }
}

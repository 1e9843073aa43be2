package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;

/**
 * Matrix products split over the worker pool by output rows: each thread computes one contiguous
 * chunk of rows, so it streams its own slice of the weights.
 */
public final class ParallelProducts {
    /**
     * Products with fewer multiply-adds than this run on the calling thread: around a microsecond of
     * work, where waking a parked worker would cost more than it saves. (Measured on 2 cores: a
     * 64x172 F32 product takes 2.6 µs alone, 1.5 µs split, when the worker is already awake.)
     */
    static final long SERIAL_MACS = 1 << 13;

    private ParallelProducts() {}

    /** y = W·x over all rows, multi-threaded. */
    public static void matvec(WeightMatrix w, float[] x, float[] y) {
        if ((long) w.rows() * w.cols() < SERIAL_MACS) {
            w.matvec(x, y, 0, w.rows());
            return;
        }
        Parallel.forRange(w.rows(), Parallel.ROW_ALIGN, (s, e) -> w.matvec(x, y, s, e));
    }

    /**
     * {@code ys[j] = ws[j]·x} for matrices that share their input (LLaMA's q, k and v; gate and up), at batch 1 as one job:
     * thread i computes chunk i of every matrix's rows ({@link Parallel#forRange}'s chunks), quantizing the input once for
     * all of them ({@link ThreadInputs#share}). Against a job per matrix, that saves the waits between jobs and the
     * repeated quantizing. Batches (prefill) run matrix after matrix: their inputs are quantized per product anyway.
     */
    public static void matmul(WeightMatrix[] ws, float[] x, float[][] ys, int n) {
        matmul(ws, x, ys, n, null);
    }

    /**
     * As {@link #matmul(WeightMatrix[], float[], float[][], int)}, then {@code after.run(s, e)} (unless null) for rows
     * [s, e) of the outputs (matrices of one row count; every input's rows), at batch 1 by the thread that computed them
     * while they are in its cache: LLaMA's SwiGLU and residual adds, which otherwise read half of each output from the
     * other core's cache on the calling thread alone.
     */
    public static void matmul(WeightMatrix[] ws, float[] x, float[][] ys, int n, Parallel.RangeBody after) {
        for (WeightMatrix w : ws) {
            if (after != null && w.rows() != ws[0].rows()) {
                throw new IllegalArgumentException("an epilogue needs matrices of one row count: " + w.rows() + " and " + ws[0].rows());
            }
        }
        if (n != 1) {
            for (int j = 0; j < ws.length; j++) {
                matmul(ws[j], x, ys[j], n);
            }
            if (after != null) {
                after.run(0, ws[0].rows());
            }
            return;
        }
        int t = Parallel.threads();
        matmul(ws, x, ys, after == null ? null : i -> {
            int rows = ws[0].rows(), s = Parallel.chunkStart(rows, Parallel.ROW_ALIGN, t, i), e = Parallel.chunkStart(rows, Parallel.ROW_ALIGN, t, i + 1);
            if (s < e) {
                after.run(s, e);
            }
        });
    }

    /**
     * At batch 1: {@code ys[j] = ws[j]·x}, then {@code afterChunk.accept(i)} (unless null) by the thread that computed
     * chunk i ({@link Parallel#chunkStart}'s chunk i of {@link Parallel#threads()}, aligned to {@link Parallel#ROW_ALIGN}) of
     * every matrix's rows, once they are all done; for small products, every chunk in order on the calling thread.
     */
    public static void matmul(WeightMatrix[] ws, float[] x, float[][] ys, java.util.function.IntConsumer afterChunk) {
        long macs = 0;
        for (WeightMatrix w : ws) {
            macs += (long) w.rows() * w.cols();
        }
        int t = Parallel.threads();
        if (macs < SERIAL_MACS || t == 1) {
            for (int j = 0; j < ws.length; j++) {
                matmul(ws[j], x, ys[j], 1);
            }
            for (int i = 0; afterChunk != null && i < t; i++) {
                afterChunk.accept(i);
            }
            return;
        }
        Parallel.forEachTask(t, i -> {
            ThreadInputs.share(x);
            try {
                for (int j = 0; j < ws.length; j++) {
                    WeightMatrix w = ws[j];
                    int s = Parallel.chunkStart(w.rows(), Parallel.ROW_ALIGN, t, i), e = Parallel.chunkStart(w.rows(), Parallel.ROW_ALIGN, t, i + 1);
                    if (s < e) {
                        w.matvec(x, ys[j], s, e);
                    }
                }
            } finally {
                ThreadInputs.unshare();
            }
            if (afterChunk != null) {
                afterChunk.accept(i);
            }
        });
    }

    /** Y = X·Wᵀ for {@code n} row-major input vectors, multi-threaded. */
    public static void matmul(WeightMatrix w, float[] x, float[] y, int n) {
        if (n == 1) {
            matvec(w, x, y);
            return;
        }
        if ((long) w.rows() * w.cols() * n < SERIAL_MACS) {
            w.matmul(x, y, n, 0, w.rows());
            return;
        }
        Parallel.forRange(w.rows(), Parallel.ROW_ALIGN, (s, e) -> w.matmul(x, y, n, s, e));
    }
}

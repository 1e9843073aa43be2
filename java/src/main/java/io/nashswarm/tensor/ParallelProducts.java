package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;

/**
 * Matrix products split over the worker pool by output rows: each thread computes one contiguous part of the rows
 * (its share of {@link Parallel.Split}, which follows the threads' measured speeds), so it streams its own slice of the
 * weights.
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
        Parallel.forRange(w.rows(), w.rowBlock(), (s, e) -> w.matvec(x, y, s, e));
    }

    /**
     * {@code ys[j] = ws[j]·x} for matrices that share their input (LLaMA's q, k and v; gate and up), at batch 1 as one job:
     * thread i computes part i of every matrix's rows, quantizing the input once for
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
        int align = rowBlock(ws);
        matmul(ws, x, ys, null, align, after == null ? null : (split, i) -> {
            int s = split.start(ws[0].rows(), align, i), e = split.start(ws[0].rows(), align, i + 1);
            if (s < e) {
                after.run(s, e);
            }
        });
    }

    /**
     * At batch 1: {@code ys[j] = ws[j]·x}, one part of every matrix's rows per thread ({@link Parallel#forParts}), then
     * {@code afterPart.run(split, i)} (unless null) by the thread that computed part i of them all. Part i of matrix j
     * is {@link #rowStart}'s: cut at multiples of their largest {@link WeightMatrix#rowBlock}, or, given {@code unitRows}, at whole units
     * of {@code unitRows[j]} rows, the same number of units in part i of every matrix (LLaMA's attention: groups of
     * heads, so that a thread holds the q, k and v rows of the heads it then attends). Small products run on the calling
     * thread, and then {@code afterPart} once for the whole rows.
     */
    public static void matmul(WeightMatrix[] ws, float[] x, float[][] ys, int[] unitRows, Parallel.PartBody afterPart) {
        matmul(ws, x, ys, unitRows, rowBlock(ws), afterPart);
    }

    /** As above, the matrices' rows cut at multiples of {@code align} ({@link #rowBlock}), which an epilogue by rows shares. */
    private static void matmul(WeightMatrix[] ws, float[] x, float[][] ys, int[] unitRows, int align, Parallel.PartBody afterPart) {
        long macs = 0;
        for (WeightMatrix w : ws) {
            macs += (long) w.rows() * w.cols();
        }
        if (macs < SERIAL_MACS || Parallel.threads() == 1) {
            for (int j = 0; j < ws.length; j++) {
                matmul(ws[j], x, ys[j], 1);
            }
            if (afterPart != null) {
                afterPart.run(Parallel.Split.even(1), 0);
            }
            return;
        }
        Parallel.forParts((split, i) -> {
            ThreadInputs.share(x);
            try {
                for (int j = 0; j < ws.length; j++) {
                    int s = rowStart(ws, unitRows, align, j, split, i), e = rowStart(ws, unitRows, align, j, split, i + 1);
                    if (s < e) {
                        ws[j].matvec(x, ys[j], s, e);
                    }
                }
            } finally {
                ThreadInputs.unshare();
            }
            if (afterPart != null) {
                afterPart.run(split, i);
            }
        });
    }

    /** Where part {@code part} of {@code split} starts in matrix j's rows: at a multiple of {@code align}, or of {@code unitRows[j]}. */
    private static int rowStart(WeightMatrix[] ws, int[] unitRows, int align, int j, Parallel.Split split, int part) {
        int rows = ws[j].rows();
        if (unitRows == null) {
            return split.start(rows, align, part);
        }
        int units = (ws[0].rows() + unitRows[0] - 1) / unitRows[0];
        return (int) Math.min(rows, (long) split.start(units, 1, part) * unitRows[j]);
    }

    /**
     * The largest of the matrices' row blocks (powers of two, so a multiple of each): one alignment for all of them,
     * so that a thread's rows of every matrix are the same rows, as the epilogues that combine them need.
     */
    private static int rowBlock(WeightMatrix[] ws) {
        int b = Parallel.ROW_ALIGN;
        for (WeightMatrix w : ws) {
            b = Math.max(b, w.rowBlock());
        }
        return b;
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
        Parallel.forRange(w.rows(), w.rowBlock(), (s, e) -> w.matmul(x, y, n, s, e));
    }
}

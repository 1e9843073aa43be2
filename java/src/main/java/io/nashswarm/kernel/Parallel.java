package io.nashswarm.kernel;

import io.nashswarm.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The engine's one worker pool. Matrix products split their output rows into one contiguous chunk
 * per thread; that keeps each thread streaming its own slice of the weights.
 *
 * <p>Thread count: system property {@code nashswarm.threads}, else all available processors.
 */
public final class Parallel {
    /** Row chunks are multiples of this, so vector loops and packed row blocks never straddle threads. */
    public static final int ROW_ALIGN = 16;

    private static volatile ForkJoinPool pool = newPool(defaultThreads());

    private Parallel() {}

    public interface RangeBody {
        void run(int start, int end);
    }

    public static int defaultThreads() {
        String p = System.getProperty("nashswarm.threads");
        if (p != null && !p.isBlank()) {
            return Math.max(1, Integer.parseInt(p.trim()));
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Replaces the pool (CLI {@code --threads}, benchmarks). */
    public static synchronized void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (threads != pool.getParallelism()) {
            ForkJoinPool old = pool;
            pool = newPool(threads);
            old.shutdown();
        }
    }

    private static ForkJoinPool newPool(int threads) {
        return new ForkJoinPool(threads, p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("nashswarm-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** Runs {@code body} over [0, n) split into at most {@link #threads()} aligned chunks. */
    public static void forRange(int n, int align, RangeBody body) {
        int t = threads();
        if (n <= 0) {
            return;
        }
        int chunk = (n + t - 1) / t;
        chunk = (chunk + align - 1) / align * align;
        if (t == 1 || chunk >= n) {
            body.run(0, n);
            return;
        }
        List<RecursiveAction> tasks = new ArrayList<>(t);
        for (int start = 0; start < n; start += chunk) {
            int s = start, e = Math.min(n, start + chunk);
            tasks.add(new RecursiveAction() {
                @Override
                protected void compute() {
                    body.run(s, e);
                }
            });
        }
        if (ForkJoinTask.inForkJoinPool()) {
            ForkJoinTask.invokeAll(tasks);
        } else {
            pool.invoke(new RecursiveAction() {
                @Override
                protected void compute() {
                    invokeAll(tasks);
                }
            });
        }
    }

    /** y = W·x over all rows, multi-threaded. */
    public static void matvec(WeightMatrix w, float[] x, float[] y) {
        forRange(w.rows(), ROW_ALIGN, (s, e) -> w.matvec(x, y, s, e));
    }

    /** Y = X·Wᵀ for {@code n} row-major input vectors, multi-threaded. */
    public static void matmul(WeightMatrix w, float[] x, float[] y, int n) {
        if (n == 1) {
            matvec(w, x, y);
            return;
        }
        forRange(w.rows(), ROW_ALIGN, (s, e) -> w.matmul(x, y, n, s, e));
    }
}

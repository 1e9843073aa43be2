package io.nashswarm.kernel;

/**
 * The engine's one worker pool. Work over [0, n) is split into one contiguous chunk per thread; matrix
 * products ({@code tensor.ParallelProducts}) split their output rows so, which keeps each thread
 * streaming its own slice of the weights. The calling thread
 * computes a chunk itself (see {@link WorkerPool}), so {@code threads} counts it.
 *
 * <p>Thread count: system property {@code nashswarm.threads}, else all available processors. Idle
 * workers poll for {@code nashswarm.spinMicros} (default 50) microseconds before parking: decode issues
 * products back to back, and a parked worker takes longer to wake than a 768x768 product takes.
 */
public final class Parallel {
    /** Row chunks are multiples of this, so vector loops and packed row blocks never straddle threads. */
    public static final int ROW_ALIGN = 16;

    private static volatile WorkerPool pool = new WorkerPool(defaultThreads());

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
        return pool.threads();
    }

    /** Replaces the pool (CLI {@code --threads}, benchmarks). */
    public static synchronized void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (threads != pool.threads()) {
            WorkerPool old = pool;
            pool = new WorkerPool(threads);
            old.shutdown();
        }
    }

    /**
     * Runs {@code body.accept(i)} for every i in [0, n), each task taken by whichever thread is free: for tasks of
     * uneven size (whole matrices, file sections). Rethrows the first failure.
     */
    public static void forEachTask(int n, java.util.function.IntConsumer body) {
        pool.run(n, body);
    }

    /** Runs {@code body} over [0, n) split into at most {@link #threads()} aligned chunks. */
    public static void forRange(int n, int align, RangeBody body) {
        if (n <= 0) {
            return;
        }
        if (align < 1) {
            throw new IllegalArgumentException("align must be >= 1, got " + align);
        }
        WorkerPool p = pool;
        int size = chunk(n, align, p.threads());
        if (size >= n) {
            body.run(0, n);
            return;
        }
        p.run((n + size - 1) / size, i -> body.run(i * size, (int) Math.min(n, (long) i * size + size)));
    }

    /** Where chunk {@code i} of {@link #chunk}'s chunks of [0, n) starts ({@code n} past the last one). */
    public static int chunkStart(int n, int align, int parts, int i) {
        return (int) Math.min(n, (long) i * chunk(n, align, parts));
    }

    /** The size of {@link #forRange}'s chunks of [0, n) for {@code parts} threads: an even share, rounded up to {@code align}. */
    public static int chunk(int n, int align, int parts) {
        long share = ((long) n + parts - 1) / parts;
        return (int) Math.min(n, (share + align - 1) / align * align);
    }
}

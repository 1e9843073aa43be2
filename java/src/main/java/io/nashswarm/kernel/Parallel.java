package io.nashswarm.kernel;

/**
 * The engine's one worker pool. Work over [0, n) is split into one contiguous part per thread; matrix products
 * ({@code tensor.ParallelProducts}) split their output rows so, which keeps each thread streaming its own slice of the
 * weights. The calling thread computes part 0 itself (see {@link WorkerPool}), so {@code threads} counts it.
 *
 * <p>The parts follow the threads' measured speeds ({@link Split}): on a shared machine one core often runs a
 * quarter slower than the other for minutes at a time (a VM's vCPUs on busy hosts), and equal halves then leave the
 * faster thread waiting for the slower one in every product.
 *
 * <p>Thread count: system property {@code nashswarm.threads}, else all available processors. Idle workers poll for
 * {@code nashswarm.spinMicros} (default 50) microseconds before parking: decode issues products back to back, and a
 * parked worker takes longer to wake than a 768x768 product takes.
 */
public final class Parallel {
    /** Row chunks are multiples of this, so vector loops and packed row blocks never straddle threads. */
    public static final int ROW_ALIGN = 16;

    private static volatile WorkerPool pool = new WorkerPool(defaultThreads());

    private Parallel() {}

    public interface RangeBody {
        void run(int start, int end);
    }

    /** Part {@code part} of a job divided by {@code split}: one per thread, part 0 on the calling thread. */
    public interface PartBody {
        void run(Split split, int part);
    }

    /**
     * How one job's work is shared among the threads: part i gets the fraction {@code bounds[i+1] - bounds[i]} (of
     * {@link #ONE}) of any range. Immutable, so every thread of a job, and every range cut in it, sees the same shares.
     */
    public static final class Split {
        static final int ONE = 1 << 16;
        private final int[] bounds;

        Split(int[] bounds) {
            this.bounds = bounds;
        }

        /** Equal parts. */
        public static Split even(int parts) {
            int[] b = new int[parts + 1];
            for (int i = 0; i <= parts; i++) {
                b[i] = (int) ((long) ONE * i / parts);
            }
            return new Split(b);
        }

        public int parts() {
            return bounds.length - 1;
        }

        /** Where part {@code part} starts in [0, n) cut at multiples of {@code align} ({@code n} for part {@link #parts()}). */
        public int start(int n, int align, int part) {
            if (part <= 0) {
                return 0;
            }
            if (part >= parts()) {
                return n;
            }
            long units = ((long) n + align - 1) / align;
            long u = (units * bounds[part] + ONE / 2) >> 16;
            return (int) Math.min(n, u * align);
        }

        /** Part i's share of the work, from 0 to 1. */
        double share(int part) {
            return (double) (bounds[part + 1] - bounds[part]) / ONE;
        }

        int bound(int i) {
            return bounds[i];
        }
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

    /** Runs {@code body(split, i)} for every part i of the current split, one per thread. Rethrows the first failure. */
    public static void forParts(PartBody body) {
        pool.runParts(body);
    }

    /** Runs {@code body} over [0, n) cut into one part per thread at multiples of {@code align}; empty parts are skipped. */
    public static void forRange(int n, int align, RangeBody body) {
        if (n <= 0) {
            return;
        }
        if (align < 1) {
            throw new IllegalArgumentException("align must be >= 1, got " + align);
        }
        if (n <= align || threads() == 1) {
            body.run(0, n);
            return;
        }
        forParts((split, i) -> {
            int s = split.start(n, align, i), e = split.start(n, align, i + 1);
            if (s < e) {
                body.run(s, e);
            }
        });
    }
}

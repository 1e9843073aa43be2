package io.nashswarm.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * Measures this machine's memory bandwidth in-process, over the {@link Parallel} pool, so kernel
 * speeds can be stated as a fraction of what the memory delivers:
 * <ul>
 *   <li><b>copy</b>: one off-heap buffer into another ({@link MemorySegment#copy}); GB/s counts bytes
 *       read plus bytes written;</li>
 *   <li><b>read</b>: a vector sum over one buffer, the access pattern of a matrix-vector product, the faster of two
 *       ways: one stream per thread, and two interleaved streams (each MiB's halves side by side, as a kernel that
 *       takes two rows at a time reads).</li>
 * </ul>
 * Buffers should be far larger than the last-level cache (default 512 MiB each), and sit on huge pages as the
 * kernels' weight copies do ({@link HugePages}). Each thread works on its own contiguous part; results are the best
 * of several passes. Why the second read pattern: on a Zen 5 host the F32 kernel reading two rows at a time streamed
 * faster than the single-stream sum, which would have put kernels above 100% of "the" bandwidth.
 */
public final class MemoryBandwidth implements AutoCloseable {
    public static final long DEFAULT_BYTES = 512L << 20;
    /** Work is split in chunks of this many bytes (a multiple of every vector size). */
    private static final long CHUNK = 1L << 20;

    /** Bandwidths of one measurement, in 10^9 bytes per second. */
    public record Result(long bytes, int threads, double copyGBps, double readGBps) {
        @Override
        public String toString() {
            return String.format("copy %.1f GB/s (read+write), read %.1f GB/s; %d MiB buffers, %d threads",
                    copyGBps, readGBps, bytes >> 20, threads);
        }
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment src, dst;
    private final int chunks;

    /** Allocates two buffers of {@code bytes} (rounded down to whole MiB, at least one) and touches every page. */
    public MemoryBandwidth(long bytes) {
        long size = Math.max(CHUNK, bytes / CHUNK * CHUNK);
        if (size / CHUNK > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("buffer too large: " + bytes);
        }
        chunks = (int) (size / CHUNK);
        src = HugePages.allocate(size, arena);
        dst = HugePages.allocate(size, arena);
        FloatVector one = FloatVector.broadcast(Vectors.F, 1f);
        long step = Vectors.F.vectorByteSize();
        Parallel.forRange(chunks, 1, (s, e) -> {
            for (long o = s * CHUNK; o < e * CHUNK; o += step) {
                one.intoMemorySegment(src, o, ByteOrder.LITTLE_ENDIAN);
            }
            dst.asSlice(s * CHUNK, (e - s) * CHUNK).fill((byte) 0);
        });
    }

    /** Bytes in each buffer. */
    public long bytes() {
        return src.byteSize();
    }

    /** Copies the source buffer into the destination, multi-threaded. */
    public void copy() {
        Parallel.forRange(chunks, 1, (s, e) -> MemorySegment.copy(src, s * CHUNK, dst, s * CHUNK, (e - s) * CHUNK));
    }

    /** Sums the source buffer as floats (all ones, so the result is {@code bytes / 4}), multi-threaded. */
    public double sum() {
        DoubleAdder total = new DoubleAdder();
        Parallel.forRange(chunks, 1, (s, e) -> total.add(sum(s * CHUNK, e * CHUNK)));
        return total.sum();
    }

    /** {@link #sum()} reading each MiB as two interleaved streams, its first and second half. */
    public double sumTwoStreams() {
        DoubleAdder total = new DoubleAdder();
        Parallel.forRange(chunks, 1, (s, e) -> total.add(sumTwoStreams(s * CHUNK, e * CHUNK)));
        return total.sum();
    }

    private double sumTwoStreams(long from, long to) {
        int l = Vectors.F.vectorByteSize();
        long half = CHUNK / 2;
        double total = 0;
        for (long c = from; c < to; c += CHUNK) {
            FloatVector a0 = FloatVector.zero(Vectors.F), a1 = a0, a2 = a0, a3 = a0;
            for (long o = c; o < c + half; o += 2L * l) {
                a0 = a0.add(Vectors.f32(src, o));
                a1 = a1.add(Vectors.f32(src, o + l));
                a2 = a2.add(Vectors.f32(src, o + half));
                a3 = a3.add(Vectors.f32(src, o + half + l));
            }
            total += a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        }
        return total;
    }

    private double sum(long from, long to) {
        int l = Vectors.F.vectorByteSize();
        double total = 0;
        for (long c = from; c < to; c += CHUNK) {
            // Per-MiB partial sums stay exact in float lanes; four accumulators hide the add latency.
            FloatVector a0 = FloatVector.zero(Vectors.F), a1 = a0, a2 = a0, a3 = a0;
            for (long o = c; o < c + CHUNK; o += 4L * l) {
                a0 = a0.add(Vectors.f32(src, o));
                a1 = a1.add(Vectors.f32(src, o + l));
                a2 = a2.add(Vectors.f32(src, o + 2L * l));
                a3 = a3.add(Vectors.f32(src, o + 3L * l));
            }
            total += a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        }
        return total;
    }

    private static final int WARMUP = 4;

    /** Whether the last {@link #copy()} left the destination equal to the source. */
    public boolean copied() {
        return src.mismatch(dst) == -1;
    }

    /**
     * Best copy and read bandwidth over {@code passes} passes of each, after {@value #WARMUP} untimed
     * ones: with a single one, a fresh JVM sometimes timed the read loop before C2 had compiled it
     * (4.6 GB/s where 21 was right).
     */
    public Result measure(int passes) {
        for (int i = 0; i < WARMUP; i++) {
            copy();
            sum();
            sumTwoStreams();
        }
        long bestCopy = Long.MAX_VALUE, bestRead = Long.MAX_VALUE;
        for (int i = 0; i < passes; i++) {
            long t0 = System.nanoTime();
            copy();
            long t1 = System.nanoTime();
            sum();
            long t2 = System.nanoTime();
            sumTwoStreams();
            long t3 = System.nanoTime();
            bestCopy = Math.min(bestCopy, t1 - t0);
            bestRead = Math.min(bestRead, Math.min(t2 - t1, t3 - t2));
        }
        return new Result(bytes(), Parallel.threads(), 2.0 * bytes() / bestCopy, (double) bytes() / bestRead);
    }

    /** Allocates, measures and frees: {@code new MemoryBandwidth(bytes).measure(passes)}. */
    public static Result measure(long bytes, int passes) {
        try (MemoryBandwidth bw = new MemoryBandwidth(bytes)) {
            return bw.measure(passes);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}

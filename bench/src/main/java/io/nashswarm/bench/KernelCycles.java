package io.nashswarm.bench;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.tensor.ParallelProducts;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * One kernel's matrix-vector product, repeated, for a hardware-counter measurement ({@code scripts/kernel-cycles}
 * runs it under {@code perf stat}). On a shared VM the wall time of a product varies by up to 2x between
 * runs, while the instructions it retires do not, and its cycles vary much less: this is the tool to compare
 * two versions of a kernel, where JMH ({@code scripts/bench-kernels}) gives the speeds to report.
 *
 * <p>Usage: {@code KernelCycles FORMAT ROWSxCOLS THREADS CALLS}; FORMAT is a packed format of
 * {@link PackedMatvecBenchmark} (int8, int4, int2, nf4, mixed3, mixed24, mixedA-B) or a dense/GGML type (f32, f16, bf16, q8_0, q4_0, and
 * the load-only ggml types as random blocks: q4_k, q6_k, q2_k, ..). With {@code -Dkernelcycles.copies=N} the products
 * cycle through N matrices of the shape, so that they stream from DRAM as a decode step does: on a host whose last-level
 * cache holds one matrix (480 MiB on some machines here), one matrix times the cache instead.
 * After 4 s of untimed products it writes {@code enable} to the file named by the system property
 * {@code kernelcycles.ctl} (perf's control fifo), runs CALLS products, writes {@code disable}, and prints the
 * wall time per product: best, median and mean of the CALLS (on a shared machine the best is the one to
 * compare; it is also given per 64 weights and as weight GB/s), and the bytes the calling thread allocated
 * per product (boxed vectors show up there). With {@code -Dkernelcycles.bandwidth} it first prints the
 * memory bandwidth measured with the same thread count.
 */
public final class KernelCycles {
    private static final Set<String> PACKED = Set.of("int8", "int4", "int2", "nf4", "mixed3", "mixed24");

    private KernelCycles() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: KernelCycles FORMAT ROWSxCOLS THREADS CALLS");
            System.exit(2);
        }
        String format = args[0].toLowerCase(Locale.ROOT);
        int[] rc;
        int threads, calls;
        QuantType dense = null;
        try {
            rc = RandomMatrices.shape(args[1]);
            threads = Integer.parseInt(args[2]);
            calls = Integer.parseInt(args[3]);
            if (PackedMatvecBenchmark.mixed(format)) {
                PackedMatvecBenchmark.mix(format); // checks the percentages
            } else if (!PACKED.contains(format)) {
                dense = QuantType.valueOf(format.toUpperCase(Locale.ROOT));
            }
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            System.err.println("kernel-cycles: bad arguments " + String.join(" ", args) + " (" + e.getMessage()
                    + "); FORMAT is one of int8 int4 int2 nf4 mixed3 mixed24 mixedA-B f32 f16 bf16 q8_0 q4_0 q4_k q6_k (any ggml type), the shape ROWSxCOLS");
            System.exit(2);
            return;
        }
        try (Arena arena = Arena.ofShared()) {
            // -Dkernelcycles.copies=N: N distinct matrices in turn, so that the products stream from DRAM as a
            // decode step does, not from a last-level cache that holds one matrix (480 MiB on some hosts here)
            int copies = Integer.getInteger("kernelcycles.copies", 1);
            WeightMatrix[] ws = new WeightMatrix[copies];
            for (int c = 0; c < copies; c++) {
                ws[c] = dense == null
                        ? PackedMatvecBenchmark.build(format, PackedMatvecBenchmark.gaussian(rc[0], rc[1]))
                        : RandomMatrices.create(arena, dense, rc[0], rc[1], Layout.OUT_IN, 1 + c);
                ws[c].prepare(); // the kernels' repacked copy now, not inside a timed product (a mixed copy takes ~0.3 s)
            }
            WeightMatrix w = ws[0];
            float[] x = RandomMatrices.vector(rc[1], 7), y = new float[rc[0]];
            Parallel.setThreads(threads);
            if (System.getProperty("kernelcycles.bandwidth") != null) {
                // the read bandwidth in the same JVM, before the products (bytes/s of a 512 MiB sum, best of 5)
                var bw = io.nashswarm.kernel.MemoryBandwidth.measure(io.nashswarm.kernel.MemoryBandwidth.DEFAULT_BYTES, 5);
                System.out.println("memory bandwidth " + bw);
            }
            // 10 s: the table-lookup kernels build their input tables once per product, and on a busy machine that
            // method reached C2 only after about 8 s of 4096x11008 products (its C1 code boxes vectors)
            for (long end = System.nanoTime() + 10_000_000_000L, k = 0; System.nanoTime() < end; k++) {
                ParallelProducts.matvec(ws[(int) (k % copies)], x, y);
            }
            String ctl = System.getProperty("kernelcycles.ctl");
            if (ctl != null) {
                Files.writeString(Path.of(ctl), "enable\n");
            }
            var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long alloc0 = mx.getCurrentThreadAllocatedBytes();
            long[] ns = new long[calls];
            for (int i = 0; i < calls; i++) {
                WeightMatrix wi = ws[i % copies];
                long t0 = System.nanoTime();
                ParallelProducts.matvec(wi, x, y);
                ns[i] = System.nanoTime() - t0;
            }
            if (ctl != null) {
                Files.writeString(Path.of(ctl), "disable\n");
            }
            long alloc = (mx.getCurrentThreadAllocatedBytes() - alloc0) / calls;
            long total = java.util.Arrays.stream(ns).sum();
            java.util.Arrays.sort(ns);
            double best = ns[0], per64 = (double) rc[0] * rc[1] / 64;
            System.out.printf(Locale.ROOT, "%s %s copies=%d (%.0f MB) threads=%d calls=%d wall/call best=%.1f us median=%.1f us mean=%.1f us;"
                            + " best per 64 weights %.3f ns, %.1f weight GB/s; calling thread allocated %d bytes/product; bytes=%d y0=%s%n",
                    format, args[1], copies, copies * w.storageBytes() / 1e6, threads, calls, best / 1e3, ns[calls / 2] / 1e3, total / 1e3 / calls,
                    best / per64, w.storageBytes() / best, alloc, w.storageBytes(), y[0]);
        }
    }
}

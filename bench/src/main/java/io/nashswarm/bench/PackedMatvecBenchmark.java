package io.nashswarm.bench;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.tensor.ParallelProducts;
import io.nashswarm.quant.MixedQuantizer;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.TensorQuantizer;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Decode-time matrix-vector products on the engine's packed types, the companion of
 * {@link DenseMatvecBenchmark} (F32/F16/BF16 and the GGML types); {@code scripts/bench-kernels} runs both
 * with {@link MemoryBandwidthBenchmark} and {@link KernelReport} puts them in one table per shape, with
 * the GB/s of bytes actually stored ({@code storageBytes}: codes, scales, zeros, map) and the speed-up
 * over F32 of the same shape.
 *
 * <p>Weights are Gaussian (σ = 0.02), generated row by row from a seed; every format uses symmetric
 * groups of 64; {@code mixed3} assigns exactly 10% of the 16-row tiles × groups 8 bits, 20% 4 bits and 70% 2 bits at
 * random positions (≈3.28 bits/weight); {@code mixed24} 20% 4 bits and 80% 2 bits, no 8 bits (≈2.69 bits/weight, the mix the
 * 3.0-bpw allocator picks for the layers of the Llama-3.2-1B shapes with an int4 embedding); {@code mixedA-B} A% 8 bits
 * and B% 4 bits (for {@code scripts/kernel-cycles}: {@code mixed0-100} and {@code mixed0-0} time one width's tiles alone). A
 * trailing {@code c} ({@code mixed3c}, {@code mixed24c}, {@code mixedA-Bc}) chooses the widths per group column instead, as
 * the target-bpw allocators do (one uniform kernel per width, {@code MixedColumns}). Shapes and threads are the {@link Shapes}, as in
 * {@link DenseMatvecBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1) // the Vector API runs ~1000x slower until C2 compiles the kernels
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
public class PackedMatvecBenchmark {
    static final int GROUP = 64;
    static final String MIXED3 = "mixed3", MIXED24 = "mixed24";

    /** A packed matrix and an input; the format names are the report's labels. */
    public abstract static class Product {
        WeightMatrix w;
        float[] x, y;

        void open(String format, String shape, int threads) {
            Parallel.setThreads(threads > 0 ? threads : Parallel.defaultThreads());
            int[] rc = RandomMatrices.shape(shape);
            w = build(format, gaussian(rc[0], rc[1]));
            long predicted = storageBytes(format, rc[0], rc[1]);
            if (w.storageBytes() != predicted) {
                throw new IllegalStateException(format + " " + shape + ": storageBytes " + w.storageBytes() + " != predicted " + predicted);
            }
            x = RandomMatrices.vector(rc[1], 7);
            y = new float[rc[0]];
        }

        void run() {
            ParallelProducts.matvec(w, x, y);
        }
    }

    @State(Scope.Benchmark)
    public static class AllThreads extends Product {
        @Param({"int8", "int4", "int2", "nf4", "mixed3"})
        public String format;

        @Setup(Level.Trial)
        public void setUp(Shapes.All s) {
            open(format, s.shape, s.workers());
        }
    }

    @State(Scope.Benchmark)
    public static class OneThread extends Product {
        @Param({"int8", "int4", "int2", "nf4", "mixed3"})
        public String format;

        @Setup(Level.Trial)
        public void setUp(Shapes.Largest s) {
            open(format, s.shape, s.workers());
        }
    }

    @Benchmark
    public float[] matvec(AllThreads s) {
        s.run();
        return s.y;
    }

    @Benchmark
    public float[] matvecOneThread(OneThread s) {
        s.run();
        return s.y;
    }

    static RowSource gaussian(int rows, int cols) {
        return new RowSource() {
            @Override public int rows() { return rows; }
            @Override public int cols() { return cols; }
            @Override public void row(int r, float[] out) {
                Random rnd = new Random(1000L + r);
                for (int c = 0; c < cols; c++) {
                    out[c] = (float) (0.02 * rnd.nextGaussian());
                }
            }
        };
    }

    /** {@code mixed3} (see the class comment), else the uniform type of that label at g64 via its codec. */
    static WeightMatrix build(String format, RowSource src) {
        GroupSpec g64 = GroupSpec.symmetric(GROUP);
        if (mixed(format)) {
            return MixedQuantizer.quantize(src, g64, mixedWidths(src.rows(), src.cols(), format));
        }
        return TensorQuantizer.uniform(src, type(format), g64, Arena.ofAuto());
    }

    static QuantType type(String format) {
        return QuantType.byLabel(format).filter(QuantType::isPacked)
                .orElseThrow(() -> new IllegalArgumentException("unknown packed format " + format));
    }

    /**
     * The format's shares of 8-bit and 4-bit groups (the rest 2-bit), shuffled with a fixed seed, one width per tile of
     * {@link MixedGroupMatrix#TILE_ROWS} rows × one group as NashSplit chooses them, or per group column (all rows) as the
     * target-bpw allocators do when the format ends in {@code c}.
     */
    static byte[] mixedWidths(int rows, int cols, String format) {
        int groups = cols / GROUP, tile = format.endsWith("c") ? rows : MixedGroupMatrix.TILE_ROWS;
        int[] percent = mix(format);
        byte[] t = tileWidths((rows + tile - 1) / tile * groups, percent[0], percent[1]), w = new byte[rows * groups];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(t, r / tile * groups, w, r * groups, groups);
        }
        return w;
    }

    /**
     * A mixed format's percentages of 8-bit and 4-bit tiles: {@code mixed3} 10 and 20, {@code mixed24} 0 and 20, {@code
     * mixedA-B} A and B (e.g. {@code mixed0-100}: every tile 4 bits, {@code mixed0-0}: every tile 2 bits), the rest 2 bits.
     */
    static int[] mix(String format) {
        String f = format.endsWith("c") ? format.substring(0, format.length() - 1) : format;
        if (f.equals(MIXED3) || f.equals(MIXED24)) {
            return new int[] {f.equals(MIXED3) ? 10 : 0, 20};
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("mixed(\\d+)-(\\d+)").matcher(f);
        if (!m.matches() || Integer.parseInt(m.group(1)) + Integer.parseInt(m.group(2)) > 100) {
            throw new IllegalArgumentException("a mixed format is mixed3, mixed24 or mixedA-B (A% 8-bit and B% 4-bit tiles, A + B ≤ 100), optionally ending in c (widths per group column): " + format);
        }
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    static boolean mixed(String format) {
        return format.startsWith("mixed");
    }

    private static byte[] tileWidths(int n, int percent8, int percent4) {
        byte[] w = new byte[n];
        int n8 = n * percent8 / 100, n4 = n * percent4 / 100;
        for (int i = 0; i < n; i++) {
            w[i] = (byte) (i < n8 ? 8 : i < n8 + n4 ? 4 : 2);
        }
        Random rnd = new Random(11);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            byte t = w[i];
            w[i] = w[j];
            w[j] = t;
        }
        return w;
    }

    /** Bytes each benchmarked matrix stores, from the QuantType table (checked against the built matrix in setup). */
    static long storageBytes(String format, int rows, int cols) {
        GroupSpec g64 = GroupSpec.symmetric(GROUP);
        if (mixed(format)) {
            long n8 = 0, n4 = 0, n = (long) rows * (cols / GROUP);
            for (byte b : mixedWidths(rows, cols, format)) {
                n8 += b == 8 ? 1 : 0;
                n4 += b == 4 ? 1 : 0;
            }
            return QuantType.MIXED.bytesFor(rows, cols, g64, new MixCounts(n - n8 - n4, n4, n8, 0));
        }
        return type(format).bytesFor(rows, cols, g64);
    }
}

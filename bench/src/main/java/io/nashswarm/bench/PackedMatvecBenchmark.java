package io.nashswarm.bench;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.MixedQuantizer;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Decode-time matrix-vector products on packed weights against the dense F32 and F16 baselines, all
 * through {@link Parallel#matvec} (every thread unless {@code -p threads=N}).
 *
 * <p>Run with its own main to get, after the JMH table, GB/s of bytes actually stored
 * ({@code storageBytes}: codes, scales, zeros, map) and the speed-up over F32 of the same shape:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp bench/target/benchmarks.jar io.nashswarm.bench.PackedMatvecBenchmark [JMH options, e.g. -p shape=4096x11008]
 * </pre>
 * Weights are Gaussian (σ = 0.02), generated row by row from a seed; packed types use symmetric groups
 * of 64; "mixed3" assigns exactly 10% of the groups 8 bits, 20% 4 bits and 70% 2 bits at random
 * positions (≈3.28 bits/weight). F32 and F16 are the project's {@code F32Matrix}/{@code F16Matrix} as
 * built, so the speed-up column is only meaningful once those have their vector kernels. Decode
 * kernels are compute-bound on few cores: compare the GB/s column with the F32 row of a large shape
 * (which streams at memory bandwidth) to see how close a packed type gets to it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1) // the Vector API runs ~1000x slower until C2 compiles the kernels
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class PackedMatvecBenchmark {
    static final int GROUP = 64;

    @Param({"768x768", "768x3072", "4096x4096", "4096x11008"})
    public String shape;

    @Param({"f32", "f16", "int8", "int4", "int2", "nf4", "mixed3"})
    public String type;

    /** Worker threads; 0 keeps Parallel's default (all processors or -Dnashswarm.threads). */
    @Param({"0"})
    public int threads;

    private WeightMatrix matrix;
    private float[] x, y;

    @Setup
    public void setup() {
        if (threads > 0) {
            Parallel.setThreads(threads);
        }
        int rows = rows(shape), cols = cols(shape);
        RowSource src = gaussian(rows, cols);
        matrix = build(type, src);
        long predicted = storageBytes(type, rows, cols);
        if (matrix.storageBytes() != predicted) {
            throw new IllegalStateException(type + " " + shape + ": storageBytes " + matrix.storageBytes() + " != predicted " + predicted);
        }
        Random rnd = new Random(7);
        x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        y = new float[rows];
    }

    @Benchmark
    public float[] matvec() {
        Parallel.matvec(matrix, x, y);
        return y;
    }

    static int rows(String shape) {
        return Integer.parseInt(shape.substring(0, shape.indexOf('x')));
    }

    static int cols(String shape) {
        return Integer.parseInt(shape.substring(shape.indexOf('x') + 1));
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

    static WeightMatrix build(String type, RowSource src) {
        int rows = src.rows(), cols = src.cols();
        GroupSpec g64 = GroupSpec.symmetric(GROUP);
        return switch (type) {
            case "f32", "f16" -> dense(type.equals("f32") ? QuantType.F32 : QuantType.F16, src);
            case "int8" -> RtnQuantizer.quantize(src, QuantType.INT8, g64);
            case "int4" -> RtnQuantizer.quantize(src, QuantType.INT4, g64);
            case "int2" -> RtnQuantizer.quantize(src, QuantType.INT2, g64);
            case "nf4" -> RtnQuantizer.nf4(src, g64);
            case "mixed3" -> MixedQuantizer.quantize(src, g64, mixedWidths(rows, cols));
            default -> throw new IllegalArgumentException("unknown type " + type);
        };
    }

    private static WeightMatrix dense(QuantType t, RowSource src) {
        int rows = src.rows(), cols = src.cols();
        MemorySegment data = Arena.ofAuto().allocate(t.bytesFor((long) rows * cols), 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            src.row(r, row);
            for (int c = 0; c < cols; c++) {
                long i = (long) r * cols + c;
                if (t == QuantType.F32) {
                    data.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, row[c]);
                } else {
                    data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, Float.floatToFloat16(row[c]));
                }
            }
        }
        return Matrices.of(t, data, rows, cols, Layout.OUT_IN);
    }

    /** Exactly 10% 8-bit, 20% 4-bit, the rest 2-bit groups, shuffled with a fixed seed. */
    static byte[] mixedWidths(int rows, int cols) {
        int n = rows * (cols / GROUP);
        byte[] w = new byte[n];
        int n8 = n / 10, n4 = n / 5;
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
    static long storageBytes(String type, int rows, int cols) {
        GroupSpec g64 = GroupSpec.symmetric(GROUP);
        return switch (type) {
            case "f32" -> QuantType.F32.bytesFor((long) rows * cols);
            case "f16" -> QuantType.F16.bytesFor((long) rows * cols);
            case "int8" -> QuantType.INT8.bytesFor(rows, cols, g64);
            case "int4" -> QuantType.INT4.bytesFor(rows, cols, g64);
            case "int2" -> QuantType.INT2.bytesFor(rows, cols, g64);
            case "nf4" -> QuantType.NF4.bytesFor(rows, cols, g64);
            case "mixed3" -> {
                long n = (long) rows * (cols / GROUP), n8 = n / 10, n4 = n / 5;
                yield QuantType.MIXED.bytesFor(rows, cols, g64, new MixCounts(n - n8 - n4, n4, n8, 0));
            }
            default -> throw new IllegalArgumentException("unknown type " + type);
        };
    }

    /** Runs the benchmark (JMH options from the command line) and prints GB/s and speed-up over F32. */
    public static void main(String[] args) throws Exception {
        var options = new OptionsBuilder()
                .parent(new CommandLineOptions(args))
                .include(PackedMatvecBenchmark.class.getName() + ".matvec")
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Map<String, Double> f32 = new HashMap<>();
        List<String[]> rows = new ArrayList<>();
        for (RunResult r : results) {
            if (r.getParams().getParam("type").equals("f32")) {
                f32.put(r.getParams().getParam("shape") + "/" + r.getParams().getParam("threads"), r.getPrimaryResult().getScore());
            }
        }
        List<RunResult> sorted = new ArrayList<>(results);
        sorted.sort(Comparator.comparing((RunResult r) -> rows(r.getParams().getParam("shape")) * (long) cols(r.getParams().getParam("shape")))
                .thenComparing(r -> r.getParams().getParam("shape")));
        System.out.printf("%n%-11s %-7s %7s %12s %10s %9s %8s%n", "shape", "type", "threads", "us/op", "bits/w", "GB/s", "x f32");
        for (RunResult r : sorted) {
            String shape = r.getParams().getParam("shape"), type = r.getParams().getParam("type"), th = r.getParams().getParam("threads");
            double us = r.getPrimaryResult().getScore();
            int rr = rows(shape), cc = cols(shape);
            long bytes = storageBytes(type, rr, cc);
            Double base = f32.get(shape + "/" + th);
            System.out.printf("%-11s %-7s %7s %12.1f %10.4f %9.2f %8s%n", shape, type, th.equals("0") ? "all" : th, us,
                    8.0 * bytes / ((double) rr * cc), bytes / (us * 1e3), base == null ? "-" : String.format("%.2f", base / us));
        }
    }
}

package io.nashswarm.bench;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.tensor.ParallelProducts;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * Decode-time matrix-vector products y = W·x on off-heap weights, through {@link Parallel#matvec}.
 * Shapes are rows x cols (outputs x inputs): GPT-2 124M (768x768, 768x3072) and Llama-7B
 * (4096x4096, 4096x11008). {@code matvec} uses {@code threads} workers (0: all processors);
 * {@code matvecOneThread} runs the largest shape on one thread, for the scaling ratio.
 * {@code batch} > 1 measures the prefill product over that many vectors instead.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DenseMatvecBenchmark {

    /** A matrix, an input batch and an output batch; closed with the trial. */
    public abstract static class Product {
        Arena arena;
        WeightMatrix w;
        float[] x, y;
        int batch;

        void open(String type, String shape, String layout, int threads, int batch) {
            Parallel.setThreads(threads > 0 ? threads : Parallel.defaultThreads());
            int[] rc = RandomMatrices.shape(shape);
            arena = Arena.ofShared();
            w = RandomMatrices.create(arena, QuantType.valueOf(type), rc[0], rc[1], Layout.valueOf(layout), 42);
            this.batch = batch;
            x = RandomMatrices.vector(batch * rc[1], 7);
            y = new float[batch * rc[0]];
        }

        void run() {
            ParallelProducts.matmul(w, x, y, batch);
        }

        @TearDown(Level.Trial)
        public void close() {
            arena.close();
        }
    }

    @State(Scope.Benchmark)
    public static class AllThreads extends Product {
        @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
        public String type;
        @Param({"768x768", "768x3072", "4096x4096", "4096x11008"})
        public String shape;
        @Param({"OUT_IN"})
        public String layout;
        @Param({"0"})
        public int threads;
        @Param({"1"})
        public int batch;

        @Setup(Level.Trial)
        public void setUp() {
            open(type, shape, layout, threads, batch);
        }
    }

    @State(Scope.Benchmark)
    public static class OneThread extends Product {
        @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
        public String type;
        @Param({"4096x11008"})
        public String shape;
        @Param({"OUT_IN"})
        public String layout;
        @Param({"1"})
        public int batch;

        @Setup(Level.Trial)
        public void setUp() {
            open(type, shape, layout, 1, batch);
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
}

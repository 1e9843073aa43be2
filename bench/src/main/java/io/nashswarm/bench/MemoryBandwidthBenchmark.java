package io.nashswarm.bench;

import io.nashswarm.kernel.MemoryBandwidth;
import io.nashswarm.kernel.Parallel;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * The machine's memory bandwidth, the yardstick of the matvec benchmarks: {@code copy} moves
 * {@code mib} MiB between two off-heap buffers (GB/s counts read + written bytes), {@code read} sums
 * one buffer, {@code readTwoStreams} the same as two interleaved streams (reports take the faster). All three over {@code threads} workers (0: all processors).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MemoryBandwidthBenchmark {
    @Param({"512"})
    public int mib;
    @Param({"0"})
    public int threads;

    private MemoryBandwidth bw;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads > 0 ? threads : Parallel.defaultThreads());
        bw = new MemoryBandwidth((long) mib << 20);
    }

    @TearDown(Level.Trial)
    public void close() {
        bw.close();
    }

    @Benchmark
    public void copy() {
        bw.copy();
    }

    @Benchmark
    public double read() {
        return bw.sum();
    }

    @Benchmark
    public double readTwoStreams() {
        return bw.sumTwoStreams();
    }
}

package io.nashswarm.bench;

import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * The matrix shapes (rows x cols: outputs x inputs) and thread counts every matvec benchmark shares,
 * GPT-2 124M (768x768, 768x3072) and Llama-7B (4096x4096, 4096x11008): JMH states the benchmarks'
 * own states take in their setup, so the lists live in one place and every report's "shape" and
 * "threads" columns mean the same.
 */
public final class Shapes {
    private Shapes() {}

    /** Every shape on {@code threads} workers (0: all processors). */
    @State(Scope.Benchmark)
    public static class All {
        @Param({"768x768", "768x3072", "4096x4096", "4096x11008"})
        public String shape;
        @Param({"0"})
        public int threads;

        int workers() {
            return threads;
        }
    }

    /** The largest shape on one thread (per-core compute speed, the scaling ratio). */
    @State(Scope.Benchmark)
    public static class Largest {
        @Param({"4096x11008"})
        public String shape;

        int workers() {
            return 1;
        }
    }
}

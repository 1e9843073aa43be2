package io.nashswarm.tensor;

import io.nashswarm.kernel.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

class ParallelProductsTest {
    @AfterEach
    void restore() {
        Parallel.setThreads(Parallel.defaultThreads());
    }

    /**
     * ParallelProducts.matvec on a 2-thread pool: each of the two row chunks waits for the other to start, so
     * this only finishes if two threads run them at once (the 20 s timeout only guards against a hang).
     */
    @Test
    void matvecUsesBothThreads() {
        Parallel.setThreads(2);
        for (int round = 0; round < 20; round++) {
            CountDownLatch both = new CountDownLatch(2);
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            WeightMatrix rendezvous = new RendezvousMatrix(64, 1024, both, seen);
            ParallelProducts.matvec(rendezvous, new float[1024], new float[64]);
            assertEquals(2, seen.size());
            assertTrue(seen.contains(Thread.currentThread()), "the caller computes a chunk itself");
        }
    }

    /**
     * Products of one input as one job (LLaMA's q, k and v) equal the same products one by one (bit for bit with
     * AVX-512; within float rounding where the JIT orders a float kernel's reductions differently), on 2 threads: for each kind of quantized input (16-bit products, byte and 12-bit tables, a mixed matrix's tables and
     * pairs) and F32, at row counts that do and do not fill the row blocks. Each round writes new values into the same
     * array, so an input kept from the round before must be quantized again.
     */
    @Test
    void productsOfOneInputEqualProductsOneByOne() {
        Parallel.setThreads(2);
        int cols = 256;
        float[][] f32 = PackedMatrixTest.weights(45, cols, 32, 3);
        java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate((long) f32.length * cols * Float.BYTES, 64);
        for (int r = 0; r < f32.length; r++) {
            java.lang.foreign.MemorySegment.copy(f32[r], 0, seg, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * cols * Float.BYTES, cols);
        }
        WeightMatrix[] ws = {
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(200, cols, 32, 1)), QuantType.INT4, GroupSpec.symmetric(64)),
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(64, cols, 32, 2)), QuantType.INT2, GroupSpec.asymmetric(64)),
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(37, cols, 32, 4)), QuantType.INT4, GroupSpec.asymmetric(32)),
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(50, cols, 32, 5)), QuantType.INT8, GroupSpec.symmetric(64)),
                io.nashswarm.quant.MixedQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(96, cols, 32, 6)), GroupSpec.symmetric(64),
                        PackedMatrixTest.randomWidths(96 * cols / 64, 7)),
                new F32Matrix(seg, f32.length, cols, Layout.OUT_IN),
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(130, cols, 32, 8)), QuantType.INT4, GroupSpec.symmetric(64)),
        };
        float[] x = new float[cols];
        java.util.Random rnd = new java.util.Random(9);
        for (int round = 0; round < 8; round++) {
            for (int i = 0; i < cols; i++) {
                x[i] = (float) (rnd.nextGaussian() * Math.pow(10, round % 4 - 2));
            }
            if (round >= 4) { // the same under a split that gives thread 0 less (as the pool learns from unequal cores)
                assertTrue(io.nashswarm.kernel.SkewedSplit.teach(4000) < 0.45, "the pool learnt an uneven split");
            }
            float[][] together = new float[ws.length][], alone = new float[ws.length][];
            for (int j = 0; j < ws.length; j++) {
                together[j] = new float[ws[j].rows()];
                alone[j] = new float[ws[j].rows()];
            }
            ParallelProducts.matmul(ws, x, together, 1);
            for (int j = 0; j < ws.length; j++) {
                ParallelProducts.matvec(ws[j], x, alone[j]);
                float scale = 0f;
                for (float v : alone[j]) {
                    scale = Math.max(scale, Math.abs(v));
                }
                // within 1e-5 of the largest output: the float kernels' lane reductions (the mixed matrix's without
                // AVX-512) may be ordered differently by the interpreter and C2, an ulp apart; an input quantized
                // from the last round's values is off by the size of the outputs
                assertArrayEquals(alone[j], together[j], 1e-5f * scale, "matrix " + j + " (" + ws[j].type() + "), round " + round);
            }
        }
    }

    /**
     * The epilogue of products of one input (LLaMA's SwiGLU, residual adds) sees every row exactly once, after both
     * matrices' products of that row, at batch 1 (in parallel) and in a batch of 3; rows 0..199 over two threads.
     */
    @Test
    void epilogueSeesEachRowOnceAfterItsProducts() {
        Parallel.setThreads(2);
        int rows = 200, cols = 256;
        WeightMatrix[] ws = {
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(rows, cols, 32, 11)), QuantType.INT4, GroupSpec.symmetric(64)),
                io.nashswarm.quant.RtnQuantizer.quantize(io.nashswarm.quant.RowSource.of(PackedMatrixTest.weights(rows, cols, 32, 12)), QuantType.INT8, GroupSpec.symmetric(64)),
        };
        for (int n : new int[] {1, 3}) {
            float[] x = PackedMatrixTest.vectors(n, cols, 13 + n);
            float[][] ys = {new float[n * rows], new float[n * rows]}, alone = {new float[n * rows], new float[n * rows]};
            ParallelProducts.matmul(ws[0], x, alone[0], n);
            ParallelProducts.matmul(ws[1], x, alone[1], n);
            float[] sums = new float[n * rows];
            java.util.concurrent.atomic.AtomicIntegerArray seen = new java.util.concurrent.atomic.AtomicIntegerArray(rows);
            ParallelProducts.matmul(ws, x, ys, n, (s, e) -> {
                for (int r = s; r < e; r++) {
                    seen.incrementAndGet(r);
                    for (int b = 0; b < n; b++) {
                        sums[b * rows + r] = ys[0][b * rows + r] + ys[1][b * rows + r];
                    }
                }
            });
            for (int r = 0; r < rows; r++) {
                assertEquals(1, seen.get(r), "row " + r + " visits, n " + n);
                for (int b = 0; b < n; b++) {
                    assertEquals(alone[0][b * rows + r] + alone[1][b * rows + r], sums[b * rows + r], 0f, "row " + r + ", input " + b);
                }
            }
        }
    }

    /** A matrix whose products only record which thread ran them, after meeting the other chunk. */
    private record RendezvousMatrix(int rows, int cols, CountDownLatch both, Set<Thread> seen) implements WeightMatrix {
        @Override public QuantType type() { return QuantType.F32; }
        @Override public long storageBytes() { return 0; }
        @Override public void dequantizeRow(int r, float[] out, int off) {}

        @Override
        public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
            seen.add(Thread.currentThread());
            both.countDown();
            try {
                assertTrue(both.await(20, TimeUnit.SECONDS), "the other chunk never started");
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        }
    }
}

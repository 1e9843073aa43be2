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

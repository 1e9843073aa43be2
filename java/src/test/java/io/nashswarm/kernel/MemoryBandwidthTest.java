package io.nashswarm.kernel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Function only: the copy copies, the sum reads every byte; no speed is asserted. */
class MemoryBandwidthTest {
    @AfterEach
    void restore() {
        Parallel.setThreads(Parallel.defaultThreads());
    }

    @Test
    void copiesAndReadsEverything() {
        for (int threads : new int[]{1, 2}) {
            Parallel.setThreads(threads);
            try (MemoryBandwidth bw = new MemoryBandwidth(5L << 20)) {
                assertEquals(5L << 20, bw.bytes());
                assertFalse(bw.copied(), "destination starts zeroed");
                bw.copy();
                assertTrue(bw.copied());
                assertEquals(bw.bytes() / 4.0, bw.sum(), 0.0, "source holds float ones");
                assertEquals(bw.bytes() / 4.0, bw.sumTwoStreams(), 0.0, "both read patterns sum every float");
                MemoryBandwidth.Result r = bw.measure(2);
                assertEquals(threads, r.threads());
                assertTrue(r.copyGBps() > 0 && r.readGBps() > 0 && Double.isFinite(r.copyGBps()), r.toString());
            }
        }
    }
}

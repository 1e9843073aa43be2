package io.nashswarm.kernel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

class ParallelTest {
    @AfterEach
    void restore() {
        Parallel.setThreads(Parallel.defaultThreads());
    }

    @Test
    void everyIndexRunsOnceInAlignedChunks() {
        for (int threads : new int[]{1, 2, 3, 5}) {
            Parallel.setThreads(threads);
            assertEquals(threads, Parallel.threads());
            for (int n : new int[]{0, 1, 15, 16, 17, 33, 100, 768, 1001}) {
                for (int align : new int[]{1, 16}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
                    List<int[]> chunks = java.util.Collections.synchronizedList(new ArrayList<>());
                    Parallel.forRange(n, align, (s, e) -> {
                        chunks.add(new int[]{s, e});
                        for (int i = s; i < e; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, hits.get(i), "n=" + n + " index " + i);
                    }
                    assertTrue(chunks.size() <= threads, "at most one chunk per thread");
                    for (int[] c : chunks) {
                        assertEquals(0, c[0] % align, "chunk start " + c[0] + " not aligned to " + align);
                        assertTrue(c[0] < c[1], "empty chunk");
                    }
                }
            }
        }
    }

    @Test
    void failuresReachTheCaller() {
        Parallel.setThreads(2);
        for (int bad : new int[]{0, 40}) {
            var ex = assertThrows(IllegalStateException.class, () -> Parallel.forRange(64, 16, (s, e) -> {
                if (s <= bad && bad < e) {
                    throw new IllegalStateException("chunk " + s);
                }
            }));
            assertTrue(ex.getMessage().startsWith("chunk"));
        }
        // The pool still works afterwards.
        AtomicIntegerArray hits = new AtomicIntegerArray(64);
        Parallel.forRange(64, 16, (s, e) -> { for (int i = s; i < e; i++) hits.incrementAndGet(i); });
        for (int i = 0; i < 64; i++) assertEquals(1, hits.get(i));
    }

    @Test
    void nestedAndConcurrentCallsComplete() throws Exception {
        Parallel.setThreads(2);
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
        Parallel.forRange(64, 1, (s, e) -> {
            for (int i = s; i < e; i++) {
                int row = i;
                Parallel.forRange(64, 1, (s2, e2) -> { for (int j = s2; j < e2; j++) hits.incrementAndGet(row * 64 + j); });
            }
        });
        for (int i = 0; i < 64 * 64; i++) assertEquals(1, hits.get(i));

        AtomicIntegerArray counts = new AtomicIntegerArray(4 * 1000);
        List<Thread> callers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 1000;
            callers.add(Thread.ofPlatform().start(() -> {
                for (int rep = 0; rep < 50; rep++) {
                    Parallel.forRange(1000, 16, (s, e) -> { for (int i = s; i < e; i++) counts.incrementAndGet(base + i); });
                }
            }));
        }
        for (Thread c : callers) {
            c.join(30_000);
            assertFalse(c.isAlive(), "a concurrent caller hung");
        }
        for (int i = 0; i < 4000; i++) assertEquals(50, counts.get(i));
    }

    @Test
    void anySplitCutsEveryRangeIntoAlignedMonotonePartsThatCoverIt() {
        java.util.Random rnd = new java.util.Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int parts = 1 + rnd.nextInt(5);
            int[] bounds = new int[parts + 1];
            for (int i = 1; i < parts; i++) {
                bounds[i] = rnd.nextInt(Parallel.Split.ONE + 1);
            }
            bounds[parts] = Parallel.Split.ONE;
            java.util.Arrays.sort(bounds);
            Parallel.Split split = new Parallel.Split(bounds);
            int n = rnd.nextInt(5000), align = 1 << rnd.nextInt(7);
            assertEquals(0, split.start(n, align, 0));
            assertEquals(n, split.start(n, align, parts));
            for (int i = 0; i < parts; i++) {
                int s = split.start(n, align, i), e = split.start(n, align, i + 1);
                assertTrue(s <= e, "parts in order: " + s + " > " + e);
                assertTrue(s % align == 0 || s == n, "part start " + s + " aligned to " + align);
                // each part is its share of the aligned units, rounded: within one unit of it
                double units = Math.ceil((double) n / align), want = units * (bounds[i + 1] - bounds[i]) / Parallel.Split.ONE;
                assertTrue(Math.abs(Math.ceil((double) e / align) - Math.ceil((double) s / align) - want) <= 1.0 + 1e-9,
                        "part " + i + " of " + n + " by " + align + ": [" + s + ", " + e + ") for a share of " + want + " units");
            }
        }
    }

    /**
     * The split follows the threads' speeds: when part 0 takes 1.5 times as long per unit of work as part 1 (whichever
     * thread runs it), the pool soon gives part 0 less than half (0.4 would make both end together). Timing-based, with
     * margin: the jobs run until the share falls to 0.43, at most 4000 of them (0.5 s); with nothing learnt it stays 0.5.
     */
    @Test
    void partsFollowTheMeasuredSpeeds() {
        Parallel.setThreads(2);
        double share0 = SkewedSplit.teach(4000);
        assertTrue(share0 < 0.45, "part 0 (1.5x slower per unit) still gets " + share0 + " of the work");
        assertTrue(share0 >= 0.25 - 1e-3, "shares stay within [0.25, 0.75] for two threads: " + share0);
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertThrows(IllegalArgumentException.class, () -> Parallel.forRange(10, 0, (s, e) -> {}));
    }
}

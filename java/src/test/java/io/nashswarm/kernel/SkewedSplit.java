package io.nashswarm.kernel;

import java.util.concurrent.atomic.AtomicReference;

/** Teaches the pool an uneven split, for tests of code that must give the same results under any split. */
public final class SkewedSplit {
    private SkewedSplit() {}

    /**
     * Runs {@code jobs} parts jobs in which part 0 takes three times as long per unit of work as the others (whichever
     * thread runs it), so that the pool learns to give part 0 less; returns part 0's share in the last job's split.
     */
    public static double teach(int jobs) {
        AtomicReference<Parallel.Split> last = new AtomicReference<>();
        for (int job = 0; job < jobs; job++) {
            Parallel.forParts((split, part) -> {
                last.set(split);
                long units = split.start(1000, 1, part + 1) - split.start(1000, 1, part);
                long until = System.nanoTime() + units * (part == 0 ? 300 : 100); // 100-300 µs per job
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            });
        }
        return last.get().start(1000, 1, 1) / 1000.0;
    }
}

package io.nashswarm.kernel;

import java.util.concurrent.atomic.AtomicReference;

/** Teaches the pool an uneven split, for tests of code that must give the same results under any split. */
public final class SkewedSplit {
    private SkewedSplit() {}

    /**
     * Runs parts jobs in which part 0 takes 1.5 times as long per unit of work as the others (whichever thread runs it;
     * the pool should then give it 0.4), until part 0's share is at most 0.43 or {@code maxJobs} have run; returns part
     * 0's share in the last job's split. The parts take 50-75 µs, so the faster thread never idles long enough to park
     * (a parked worker is often late, the caller then runs its part too, and that job teaches nothing).
     */
    public static double teach(int maxJobs) {
        AtomicReference<Parallel.Split> last = new AtomicReference<>();
        for (int job = 0; job < maxJobs; job++) {
            Parallel.forParts((split, part) -> {
                last.set(split);
                long units = split.start(1000, 1, part + 1) - split.start(1000, 1, part);
                long until = System.nanoTime() + units * (part == 0 ? 150 : 100);
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            });
            if (last.get().start(1000, 1, 1) <= 430) {
                break;
            }
        }
        return last.get().start(1000, 1, 1) / 1000.0;
    }
}

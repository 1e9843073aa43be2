package io.nashswarm.kernel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of {@code threads - 1} daemon workers that, together with the calling thread, run one job at a time.
 * Built for the decode loop's many short (20-500 µs) products: the caller works instead of waiting, and idle workers
 * spin briefly before parking, so a job that follows soon after the previous one finds them awake.
 *
 * <p>Two kinds of job. {@link #run} hands out numbered tasks from one counter (uneven tasks: whole matrices).
 * {@link #runParts} gives thread i part i of a {@link Parallel.Split} (the caller part 0), and learns from each such
 * job how fast each thread went through its part, so that the next split gives a faster thread more: equal halves on
 * two vCPUs of unequal speed left the faster one waiting 15-25% of a GPT-2 decode here. A thread done early takes a
 * part nobody has started (a worker still parked), so no job waits for a sleeping thread.
 *
 * <p>A job submitted while another runs, or from inside a task, runs on the calling thread alone; that keeps nested
 * and concurrent use deadlock-free.
 */
final class WorkerPool {
    /** How long an idle worker (or a waiting caller) polls before parking. */
    private static final long SPIN_NANOS = Long.getLong("nashswarm.spinMicros", 50) * 1000;
    /** Weight of one job's measured speeds in the running estimate: about the last 32 jobs count. */
    private static final double LEARN = 1.0 / 32;
    /** Jobs whose parts take less than this are too noisy to learn from. */
    private static final long LEARN_MIN_NANOS = 2_000;

    private final Thread[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    private volatile boolean shutdown;
    /** The split the next parts job uses; replaced (never changed in place) by the caller holding {@code busy}. */
    private volatile Parallel.Split split;
    /** The running estimate of each thread's share of the work, and a scratch of speeds: used under {@code busy}. */
    private final double[] shares, speeds;

    WorkerPool(int threads) {
        workers = new Thread[threads - 1];
        split = Parallel.Split.even(threads);
        shares = new double[threads];
        speeds = new double[threads];
        java.util.Arrays.fill(shares, 1.0 / threads);
        for (int i = 0; i < workers.length; i++) {
            int slot = i + 1;
            Thread t = new Thread(() -> workLoop(slot), "nashswarm-" + slot);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    int threads() {
        return workers.length + 1;
    }

    void shutdown() {
        shutdown = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }

    /** Runs {@code task.accept(i)} for every i in [0, tasks), in parallel where possible; rethrows the first failure. */
    void run(int tasks, IntConsumer task) {
        if (tasks <= 1 || !acquire()) {
            for (int i = 0; i < tasks; i++) {
                task.accept(i);
            }
            return;
        }
        try {
            submit(new TaskJob(tasks, task, Thread.currentThread()));
        } finally {
            busy.set(false);
        }
    }

    /** Runs {@code body} for every part of the current split, part i on thread i where it is free; rethrows the first failure. */
    void runParts(Parallel.PartBody body) {
        Parallel.Split s = split;
        if (!acquire()) {
            for (int i = 0; i < s.parts(); i++) {
                body.run(s, i);
            }
            return;
        }
        try {
            PartsJob j = new PartsJob(s, body, Thread.currentThread());
            submit(j);   // throws on failure, and then nothing is learnt
            learn(j);
        } finally {
            busy.set(false);
        }
    }

    /** Whether this thread may submit a job now (else it runs the work alone); on true, {@code busy} is held. */
    private boolean acquire() {
        return workers.length > 0 && !isWorker() && busy.compareAndSet(false, true);
    }

    /** Publishes the job, does the caller's share and waits for the rest (called holding {@code busy}). */
    private void submit(Job j) {
        job = j;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        j.work(0);
        j.await();
        job = null;   // drop the task's captured arrays
        j.rethrow();
    }

    /**
     * Moves the share estimate toward the shares that would have made this job's parts end together (each thread's
     * speed = its share ÷ its time), and publishes a new split when a boundary moved by 1/1024 or more. Jobs where a
     * part ran on another thread, or that were too short to time, teach nothing.
     */
    private void learn(PartsJob j) {
        Parallel.Split s = j.split;
        double total = 0;
        for (int p = 0; p < speeds.length; p++) {
            long nanos = j.end[p] - j.start[p];
            if (j.claimed.get(p) != p + 1 || nanos < LEARN_MIN_NANOS) {
                return;
            }
            speeds[p] = s.share(p) / nanos;
            total += speeds[p];
        }
        int t = shares.length;
        double lo = 0.5 / t, hi = 1.5 / t, sum = 0;
        for (int p = 0; p < t; p++) {
            shares[p] = Math.clamp(shares[p] + LEARN * (speeds[p] / total - shares[p]), lo, hi);
            sum += shares[p];
        }
        int[] bounds = new int[t + 1];
        double acc = 0;
        boolean moved = false;
        for (int p = 0; p < t; p++) {
            acc += shares[p] / sum;
            bounds[p + 1] = p + 1 == t ? Parallel.Split.ONE : (int) Math.round(acc * Parallel.Split.ONE);
            moved |= Math.abs(bounds[p + 1] - split.bound(p + 1)) >= Parallel.Split.ONE / 1024;
        }
        if (moved) {
            split = new Parallel.Split(bounds);
        }
    }

    private boolean isWorker() {
        Thread me = Thread.currentThread();
        for (Thread w : workers) {
            if (w == me) {
                return true;
            }
        }
        return false;
    }

    private void workLoop(int slot) {
        Job done = null;
        while (!shutdown) {
            Job j = job;
            if (j != null && j != done) {
                j.work(slot);
                done = j;
                continue;
            }
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (idle(done) && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            if (idle(done)) {
                LockSupport.park(this);   // submit() unparks after publishing, so no job is missed
            }
        }
    }

    private boolean idle(Job done) {
        Job j = job;
        return (j == null || j == done) && !shutdown;
    }

    /** One submission: the last task to finish wakes the caller if it parked. */
    private abstract static class Job {
        final Thread caller;
        final AtomicInteger pending;
        volatile boolean callerParked;
        volatile Throwable failure;

        Job(int tasks, Thread caller) {
            this.caller = caller;
            this.pending = new AtomicInteger(tasks);
        }

        /** Thread {@code slot} (0: the caller) takes what it can of this job. */
        abstract void work(int slot);

        /** Task (or part) i's work. */
        abstract void execute(int i);

        /** Runs task i, keeping the first failure; the last to finish wakes a parked caller. */
        final void runTask(int i) {
            try {
                execute(i);
            } catch (Throwable t) {
                if (failure == null) {
                    failure = t;
                }
            } finally {
                if (pending.decrementAndGet() == 0 && callerParked) {
                    LockSupport.unpark(caller);
                }
            }
        }

        void await() {
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (pending.get() > 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            if (pending.get() > 0) {
                callerParked = true;
                while (pending.get() > 0) {
                    LockSupport.park(this);
                }
            }
        }

        void rethrow() {
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    /** Numbered tasks claimed from one counter (a slow thread takes fewer). */
    private static final class TaskJob extends Job {
        final int tasks;
        final IntConsumer task;
        final AtomicInteger next = new AtomicInteger();

        TaskJob(int tasks, IntConsumer task, Thread caller) {
            super(tasks, caller);
            this.tasks = tasks;
            this.task = task;
        }

        @Override
        void work(int slot) {
            int i;
            while ((i = next.getAndIncrement()) < tasks) {
                runTask(i);
            }
        }

        @Override
        void execute(int i) {
            task.accept(i);
        }
    }

    /** One part per thread: each takes its own first, then any part not yet started; each part's run is timed. */
    private static final class PartsJob extends Job {
        final Parallel.Split split;
        final Parallel.PartBody body;
        /** Per part: 0 while free, else 1 + the slot of the thread that took it. */
        final AtomicIntegerArray claimed;
        final long[] start, end;

        PartsJob(Parallel.Split split, Parallel.PartBody body, Thread caller) {
            super(split.parts(), caller);
            this.split = split;
            this.body = body;
            int parts = split.parts();
            claimed = new AtomicIntegerArray(parts);
            start = new long[parts];
            end = new long[parts];
        }

        @Override
        void work(int slot) {
            int parts = split.parts();
            take(slot, slot);
            for (int p = parts - 1; p >= 0; p--) {   // then help from the far end, where owners start last
                take(p, slot);
            }
        }

        private void take(int part, int slot) {
            if (part >= split.parts() || claimed.get(part) != 0 || !claimed.compareAndSet(part, 0, slot + 1)) {
                return;
            }
            runTask(part);
        }

        @Override
        void execute(int part) {
            long t0 = System.nanoTime();
            try {
                body.run(split, part);
            } finally {
                start[part] = t0;
                end[part] = System.nanoTime();
            }
        }
    }
}

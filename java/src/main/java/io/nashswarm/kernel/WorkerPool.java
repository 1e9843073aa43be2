package io.nashswarm.kernel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of {@code threads - 1} daemon workers that, together with the calling thread, run the
 * numbered tasks of one job at a time. Built for the decode loop's many short (0.1 ms) products:
 * the caller works instead of waiting, tasks are claimed from one counter (a slow thread takes fewer),
 * and idle workers spin briefly before parking, so a job that follows soon after the previous one
 * finds them awake.
 *
 * <p>A job submitted while another runs, or from inside a task, runs on the calling thread alone;
 * that keeps nested and concurrent use deadlock-free.
 */
final class WorkerPool {
    /** How long an idle worker (or a waiting caller) polls before parking. */
    private static final long SPIN_NANOS = Long.getLong("nashswarm.spinMicros", 50) * 1000;

    private final Thread[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job job;
    private volatile boolean shutdown;

    WorkerPool(int threads) {
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workLoop, "nashswarm-" + (i + 1));
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
        if (tasks <= 1 || workers.length == 0 || isWorker() || !busy.compareAndSet(false, true)) {
            for (int i = 0; i < tasks; i++) {
                task.accept(i);
            }
            return;
        }
        try {
            Job j = new Job(tasks, task, Thread.currentThread());
            job = j;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            j.work();
            j.await();
            job = null;   // drop the task's captured arrays
            j.rethrow();
        } finally {
            busy.set(false);
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

    private void workLoop() {
        Job done = null;
        while (!shutdown) {
            Job j = job;
            if (j != null && j != done) {
                j.work();
                done = j;
                continue;
            }
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (idle(done) && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            if (idle(done)) {
                LockSupport.park(this);   // run() unparks after publishing, so no job is missed
            }
        }
    }

    private boolean idle(Job done) {
        Job j = job;
        return (j == null || j == done) && !shutdown;
    }

    /** One submission: tasks are claimed from {@code next}; the last to finish wakes the caller if it parked. */
    private static final class Job {
        final int tasks;
        final IntConsumer task;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pending;
        volatile boolean callerParked;
        volatile Throwable failure;

        Job(int tasks, IntConsumer task, Thread caller) {
            this.tasks = tasks;
            this.task = task;
            this.caller = caller;
            this.pending = new AtomicInteger(tasks);
        }

        void work() {
            int i;
            while ((i = next.getAndIncrement()) < tasks) {
                try {
                    task.accept(i);
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
}

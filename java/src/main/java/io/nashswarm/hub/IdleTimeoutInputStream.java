package io.nashswarm.hub;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fails a read that waits longer than {@code idle} for data. java.net.http has no read timeout for a
 * response body, so a watchdog closes the stream of a stalled server, which wakes the blocked reader.
 */
final class IdleTimeoutInputStream extends FilterInputStream {
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "nashswarm-download-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final Duration idle;
    private final long idleNanos;
    private volatile long lastData = System.nanoTime();
    private volatile boolean timedOut;
    private final ScheduledFuture<?> check;

    IdleTimeoutInputStream(InputStream in, Duration idle) {
        super(in);
        this.idle = idle;
        this.idleNanos = idle.toNanos();
        long period = Math.max(idleNanos / 4, TimeUnit.MILLISECONDS.toNanos(10));
        this.check = WATCHDOG.scheduleAtFixedRate(this::closeIfIdle, period, period, TimeUnit.NANOSECONDS);
    }

    private void closeIfIdle() {
        if (!timedOut && System.nanoTime() - lastData > idleNanos) {
            timedOut = true;
            try {
                in.close();
            } catch (IOException ignored) {
                // the reader sees the timeout either way
            }
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n;
        try {
            n = in.read(b, off, len);
        } catch (IOException e) {
            throw timedOut ? timeout(e) : e;
        }
        if (timedOut) {
            throw timeout(null);
        }
        lastData = System.nanoTime();
        return n;
    }

    private IOException timeout(IOException cause) {
        String time = idle.toMillis() % 1000 == 0 ? idle.toSeconds() + " s" : idle.toMillis() + " ms";
        return new IOException("no data received for " + time, cause);
    }

    /** Also stops the watchdog's check, so every stream must be closed. */
    @Override
    public void close() throws IOException {
        check.cancel(false);
        in.close();
    }
}

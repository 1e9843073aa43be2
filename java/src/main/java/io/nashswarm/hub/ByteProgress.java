package io.nashswarm.hub;

import io.nashswarm.util.Progress;

import java.io.PrintStream;

/** A {@link Progress} fed with bytes that draws MiB, so a 5 GiB download reads "812/5120 MiB". */
public final class ByteProgress implements Progress {
    private static final long MIB = 1 << 20;

    private final Progress mib;
    private long pending;

    private ByteProgress(Progress mib) {
        this.mib = mib;
    }

    public static Progress bar(String task, long totalBytes, PrintStream out) {
        return new ByteProgress(Progress.bar(task, (totalBytes + MIB - 1) / MIB, "MiB", out));
    }

    @Override
    public void step(long bytes) {
        pending += bytes;
        if (pending >= MIB) {
            mib.step(pending / MIB);
            pending %= MIB;
        }
    }

    @Override
    public void message(String text) {
        mib.message(text);
    }

    @Override
    public void close() {
        if (pending > 0) {
            mib.step(1);  // the last partial MiB, so a finished bar reads full
        }
        mib.close();
    }
}

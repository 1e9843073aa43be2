package io.nashswarm.util;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/**
 * Progress of long work (quantize, perplexity, bench, pull), drawn on stderr so stdout stays clean
 * for results and {@code --json}. {@link #none()} draws nothing (tests, quiet mode).
 */
public interface Progress extends AutoCloseable {
    /** Advances by {@code n} units. */
    void step(long n);

    /** Sets the trailing text (e.g. the running perplexity or the current tensor). */
    void message(String text);

    @Override
    void close();

    static Progress none() {
        return new Progress() {
            @Override public void step(long n) {}
            @Override public void message(String text) {}
            @Override public void close() {}
        };
    }

    /** A bar on stderr with {@code total} units (e.g. tokens, tensors, bytes). */
    static Progress bar(String task, long total, String unitName) {
        return bar(task, total, unitName, System.err);
    }

    static Progress bar(String task, long total, String unitName, PrintStream out) {
        ProgressBar pb = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setUnit(" " + unitName, 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .showSpeed()
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build();
        return new Progress() {
            @Override public void step(long n) { pb.stepBy(n); }
            @Override public void message(String text) { pb.setExtraMessage(" " + text); }
            @Override public void close() { pb.close(); }
        };
    }
}

package io.nashswarm.util;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarConsumer;
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
        LastLineConsumer console = new LastLineConsumer(new ConsoleProgressBarConsumer(out));
        ProgressBar pb = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setUnit(" " + unitName, 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .showSpeed()
                .setConsumer(console)
                .build();
        return new Progress() {
            @Override public void step(long n) { pb.stepBy(n); }
            @Override public void message(String text) { pb.setExtraMessage(" " + text); }
            @Override public void close() {
                pb.close();
                console.close(); // the library ends the line only if its timer had drawn the bar before
            }
        };
    }

    /**
     * The console consumer, drawing nothing once closed. {@code ProgressBar.close()} does not wait for a
     * refresh already running on the library's timer thread, which could then draw the bar again after its
     * final line, and it leaves the line unended when the timer had not drawn the bar yet: either way an
     * error message printed next started in the middle of a bar. {@link #close} ends the line once.
     */
    final class LastLineConsumer implements ProgressBarConsumer {
        private final ProgressBarConsumer console;
        private boolean closed;

        LastLineConsumer(ProgressBarConsumer console) {
            this.console = console;
        }

        @Override public int getMaxRenderedLength() { return console.getMaxRenderedLength(); }

        @Override public synchronized void accept(String rendered) {
            if (!closed) {
                console.accept(rendered);
            }
        }

        @Override public synchronized void close() {
            if (!closed) {
                closed = true;
                console.close();
            }
        }
    }
}

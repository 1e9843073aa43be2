package io.nashswarm.util;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class ProgressTest {
    /** A bar redrawn after close (a refresh already running on the library's timer) must not reach the console. */
    @Test
    void nothingIsDrawnAfterTheFinalLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Progress.LastLineConsumer c = new Progress.LastLineConsumer(new ConsoleProgressBarConsumer(out));
        c.accept("work 50%");
        c.close();
        c.accept("work 50% (late refresh)");
        c.close();
        out.print("error: something");
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(text.contains("late refresh"), text);
        assertTrue(text.contains("\nerror: something"), text);
        assertEquals(1, text.chars().filter(ch -> ch == '\n').count(), "one final newline: " + text);
    }

    /** A whole bar on a stream: closed with its last line ended, so the next output starts a line. */
    @Test
    void aClosedBarEndsItsLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (Progress p = Progress.bar("task", 3, "items", out)) {
            p.step(2);
            p.message("halfway");
        }
        out.print("error: x");
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\nerror: x"), text);
        assertTrue(text.contains("task"), text);
    }
}

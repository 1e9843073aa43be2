package io.nashswarm.launcher;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A child JVM for {@link LauncherTest}: writes to both streams, draws a progress line with {@code \r} and no
 * newline, then waits for a line on stdin (so the test can check the partial line arrived while it runs),
 * and exits with code 3. With the argument {@code sleep} it sleeps for a minute instead of reading.
 */
public final class StderrProbe {
    public static void main(String[] args) throws Exception {
        System.out.print("out-1\n");
        System.out.flush();
        System.err.print("WARNING: another notice stays\n");
        System.err.print("progress 1%\r");
        System.err.flush();
        if (args.length > 0 && args[0].equals("sleep")) {
            Thread.sleep(60_000);
        }
        String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        System.out.print("got: " + line + "\n");
        System.out.flush();
        System.err.print("progress 100%\n");
        System.err.flush();
        System.exit(3);
    }
}

package io.nashswarm.launcher;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The launchers' java prefix ({@code NASHSWARM_QUIET} from scripts/env.sh, i.e.
 * scripts/lib/without-incubator-notice) run on a real child JVM with the engine's flags: the JDK's
 * incubator notice is gone, every other stderr byte arrives unchanged and while the JVM still runs,
 * stdin and stdout are the JVM's own, and the exit code and SIGTERM pass through.
 */
class LauncherTest {
    static final String NOTICE = "WARNING: Using incubator modules: jdk.incubator.vector";

    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("scripts/env.sh"))) {
                return p;
            }
        }
        throw new IllegalStateException("scripts/env.sh not found above " + Path.of("").toAbsolutePath());
    }

    /** The probe JVM started as the launchers start java, with or without the prefix. */
    static Process start(boolean quiet, String... args) throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "skipped: no /bin/bash");
        Path root = repoRoot();
        String script = "source scripts/env.sh; JAVA_HOME=\"$PROBE_JAVA_HOME\"; "
                + "command -v perl >/dev/null || exit 99; "
                + "exec " + (quiet ? "\"${NASHSWARM_QUIET[@]}\" " : "")
                + "\"$JAVA_HOME/bin/java\" $NASHSWARM_JVM_FLAGS -cp \"$PROBE_CP\" " + StderrProbe.class.getName() + " " + String.join(" ", args);
        ProcessBuilder pb = new ProcessBuilder("/bin/bash", "-c", script).directory(root.toFile());
        pb.environment().put("PROBE_JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("PROBE_CP", System.getProperty("java.class.path"));
        return pb.start();
    }

    record Run(int code, String out, String err) {}

    /** Answers the probe's stdin only once its partial progress line has arrived (proof of streaming). */
    static Run talk(Process p) throws Exception {
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        InputStream es = p.getErrorStream();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!err.toString(StandardCharsets.UTF_8).contains("progress 1%\r")) {
            int b = es.read();
            assertNotEquals(-1, b, "stderr ended before the progress line: " + err);
            err.write(b);
            assertTrue(System.nanoTime() < deadline, "no partial progress line within 60 s: " + err);
        }
        try (OutputStream in = p.getOutputStream()) {
            in.write("hello\n".getBytes(StandardCharsets.UTF_8));
        }
        err.write(es.readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe did not exit");
        return new Run(p.exitValue(), out.get(), err.toString(StandardCharsets.UTF_8));
    }

    static String readAll(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theJdkPrintsTheNoticeWithoutThePrefix() throws Exception {
        Run r = talk(start(false));
        Assumptions.assumeTrue(r.code() != 99, "skipped: perl is not installed (the launchers then show the notice)");
        assertTrue(r.err().startsWith(NOTICE + "\n"), "the JDK's notice this test expects to be removed:\n" + r.err());
    }

    @Test
    void thePrefixDropsOnlyTheNotice() throws Exception {
        Run r = talk(start(true));
        Assumptions.assumeTrue(r.code() != 99, "skipped: perl is not installed (the launchers then show the notice)");
        assertEquals(3, r.code(), "the JVM's exit code; stderr:\n" + r.err());
        assertEquals("out-1\ngot: hello\n", r.out());
        assertEquals("WARNING: another notice stays\nprogress 1%\rprogress 100%\n", r.err());
    }

    @Test
    void termReachesTheJvm() throws Exception {
        Process p = start(true, "sleep");
        CompletableFuture.runAsync(() -> readAll(p.getInputStream()));
        InputStream es = p.getErrorStream();
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains("progress 1%")) {
            int b = es.read();
            assertNotEquals(-1, b, "stderr ended early: " + seen);
            seen.append((char) b);
        }
        List<ProcessHandle> jvms = p.descendants().toList();
        Assumptions.assumeFalse(jvms.isEmpty() && seen.isEmpty(), "skipped: perl is not installed");
        p.destroy(); // SIGTERM to the launcher's pid
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "launcher did not end on SIGTERM");
        assertEquals(128 + 15, p.exitValue(), "died of SIGTERM, as the JVM did");
        for (ProcessHandle jvm : jvms) {
            jvm.onExit().get(30, TimeUnit.SECONDS);
            assertFalse(jvm.isAlive(), "the JVM " + jvm.pid() + " outlived its launcher");
        }
    }
}

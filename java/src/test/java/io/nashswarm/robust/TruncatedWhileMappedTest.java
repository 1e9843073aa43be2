package io.nashswarm.robust;

import io.nashswarm.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A model file cut short while a child JVM has it mapped and is running perplexity on it. Reads of the lost
 * pages fault (SIGBUS). What the JVM (Temurin 25) gives depends on the code that reads: in the interpreter and in
 * compiled code it knows to be an unsafe access, an InternalError, which the CLI reports as one error naming the
 * file (exit code 1); in C2-compiled Vector API loads (F32Matrix.load), a SIGBUS crash with an hs_err file
 * (exit code 134). This test asserts that it is one of those two, as the README says, and prints which.
 */
class TruncatedWhileMappedTest {
    @TempDir
    Path dir;

    @Test
    void truncatingTheMappedModelGivesOneClearError() throws Exception {
        Path src = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path text = TestData.require("text/wikitext-2-raw/wiki.test.raw");
        Path model = dir.resolve("aidreams260K.bin");
        Files.copy(src, model);
        Files.copy(src.resolveSibling("tok512.bin"), dir.resolve("tok512.bin"));
        Process p = ChildJvm.cli(dir, "perplexity", "-m", model.toString(), "-f", text.toString(), "--threads", "1").start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        // Wait until scoring has begun (the progress bar is drawn), then cut the file to its first 4 KiB.
        StringBuilder err = new StringBuilder();
        InputStream es = p.getErrorStream();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!err.toString().contains("tok")) {
            int b = es.read();
            assertNotEquals(-1, b, "child ended before scoring: " + err);
            err.append((char) b);
            assertTrue(System.nanoTime() < deadline, "no progress within 120 s: " + err);
        }
        Thread.sleep(500);
        try (FileChannel ch = FileChannel.open(model, StandardOpenOption.WRITE)) {
            ch.truncate(4096);
        }
        err.append(new String(es.readAllBytes(), StandardCharsets.UTF_8));
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child did not end after the truncation");
        String stdout = out.get();
        String e = err.toString();
        java.util.List<Path> crashes;
        try (var s = Files.list(dir)) {
            crashes = s.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList();
        }
        if (!crashes.isEmpty()) {
            String report = Files.readString(crashes.get(0));
            assertEquals(134, p.exitValue(), "a crash aborts the JVM");
            assertTrue(report.contains("SIGBUS") && report.contains("Vector"),
                    "the documented crash: SIGBUS in compiled vector code:\n" + report.lines().limit(40).reduce("", (a, b) -> a + b + "\n"));
            System.out.println("truncated while mapped: the JVM crashed with SIGBUS in compiled vector code (as the README says)");
            return;
        }
        assertEquals(1, p.exitValue(), "exit code; stderr:\n" + e + "\n" + stdout);
        assertTrue(e.contains("error: "), "an error line:\n" + e);
        String last = e.substring(e.lastIndexOf("error: "));
        assertTrue(last.contains(model.toString()) && last.contains("truncated or changed while"), "one error naming the file:\n" + e);
        assertFalse(e.contains("\tat "), "no stack trace:\n" + e);
        System.out.println("truncated while mapped: " + last.trim());
    }

    private static String read(InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}

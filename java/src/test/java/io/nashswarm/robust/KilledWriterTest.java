package io.nashswarm.robust;

import io.nashswarm.TestData;
import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code quantize} and {@code export} in child JVMs killed with SIGKILL at random points — some while their
 * temporary file is being written — leave the previous output byte for byte intact, and the next complete
 * run leaves no temporary file behind.
 */
class KilledWriterTest {
    @TempDir
    Path dir;

    @Test
    void quantizeKilledAnywhereKeepsThePreviousFile() throws Exception {
        Path src = source();
        Path out = dir.resolve("out").resolve("model.nsq");
        killAtRandomPoints(out, "quantize", "-m", src.toString(), "-o", out.toString(), "--recipe", "int4");
    }

    @Test
    void exportKilledAnywhereKeepsThePreviousFile() throws Exception {
        Path src = source();
        Path out = dir.resolve("out").resolve("model.gguf");
        killAtRandomPoints(out, "export", "-m", src.toString(), "-o", out.toString(), "--type", "q8_0");
    }

    /** aidreams260K when the real data is here, else a synthetic tiny LLaMA. */
    private Path source() {
        Path real = TestData.root().resolve("models/aidreams260K/aidreams260K.bin");
        if (Files.isRegularFile(real)) {
            return real;
        }
        Path synthetic = dir.resolve("tiny.gguf");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 5, synthetic);
        return synthetic;
    }

    private void killAtRandomPoints(Path out, String... args) throws Exception {
        Files.createDirectories(out.getParent());
        Process first = ChildJvm.cli(dir, args).start();
        String err = ChildJvm.text(first, true);
        assertTrue(first.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, first.exitValue(), err);
        byte[] previous = Files.readAllBytes(out);
        Random rng = new Random(11);
        int midWrite = 0;
        List<String> log = new ArrayList<>();
        // Four rounds, and more (up to 16) until one kill lands mid-write: on a busy machine the poller can miss a short write.
        for (int round = 0; round < 4 || midWrite == 0 && round < 16; round++) {
            Process p = ChildJvm.cli(dir, args).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            boolean atTemp = round % 2 == 0; // even rounds: kill as soon as the temporary file appears; odd: at a random time
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long randomKill = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100 + rng.nextInt(1500));
            boolean sawTemp = false;
            while (p.isAlive() && System.nanoTime() < deadline) {
                sawTemp = !temps(out).isEmpty();
                if (atTemp ? sawTemp : System.nanoTime() >= randomKill) {
                    break;
                }
                Thread.onSpinWait();
            }
            boolean wasAlive = p.isAlive();
            p.destroyForcibly(); // SIGKILL
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            if (wasAlive && sawTemp) {
                midWrite++;
            }
            log.add("round " + round + (wasAlive ? sawTemp ? ": killed while writing" : ": killed before writing" : ": finished before the kill"));
            assertArrayEquals(previous, Files.readAllBytes(out), "the previous output changed after " + log);
        }
        assertTrue(midWrite >= 1, "no kill landed while the temporary file existed: " + log);
        Process last = ChildJvm.cli(dir, args).start();
        String lastErr = ChildJvm.text(last, true);
        assertTrue(last.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, last.exitValue(), lastErr);
        assertArrayEquals(previous, Files.readAllBytes(out), "the same command writes the same bytes");
        assertEquals(List.of(), temps(out), "temporary files left after the next complete run; " + log);
        System.out.println(String.join(" ", Arrays.copyOf(args, 1)) + ": " + log);
    }

    private static List<Path> temps(Path out) {
        try (Stream<Path> s = Files.list(out.getParent())) {
            return s.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList();
        } catch (java.io.IOException e) {
            return List.of();
        }
    }
}

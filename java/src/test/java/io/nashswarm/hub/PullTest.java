package io.nashswarm.hub;

import io.nashswarm.util.Progress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static io.nashswarm.hub.FakeHub.bytes;
import static io.nashswarm.hub.FakeHub.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@link Pull} API without the CLI: results, progress accounting, folders inside the repo. */
@Timeout(30)
class PullTest {
    @TempDir
    Path dir;
    FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub("acme/m");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    /** Records what a progress display would be told. */
    static final class Recorder implements Progress {
        long total = -1;
        final AtomicLong steps = new AtomicLong();
        final List<String> messages = new ArrayList<>();
        boolean closed;

        @Override public void step(long n) { steps.addAndGet(n); }
        @Override public void message(String text) { messages.add(text); }
        @Override public void close() { closed = true; }
    }

    @Test
    void progressCountsExactlyTheBytesStillToDownload() throws IOException {
        byte[] a = bytes(70_000, 1);
        byte[] b = bytes(30_000, 2);
        hub.file("config.json", text("{}")).file("model-1.safetensors", a).file("model-2.safetensors", b);
        Files.write(dir.resolve("config.json"), text("{}"));                              // complete
        Files.write(dir.resolve("model-1.safetensors.part"), java.util.Arrays.copyOf(a, 20_000));  // 20 kB done

        Recorder bar = new Recorder();
        List<String> notes = new ArrayList<>();
        List<PulledFile> result = new Pull(new HubClient(hub.endpoint(), null, Duration.ofSeconds(10)), notes::add)
                .run("acme/m", "main", List.of(), dir, total -> {
                    bar.total = total;
                    return bar;
                });

        assertEquals(List.of(
                new PulledFile("config.json", 2, PulledFile.Status.SKIPPED),
                new PulledFile("model-1.safetensors", 70_000, PulledFile.Status.RESUMED),
                new PulledFile("model-2.safetensors", 30_000, PulledFile.Status.DOWNLOADED)), result);
        assertEquals(50_000 + 30_000, bar.total);
        assertEquals(bar.total, bar.steps.get());
        assertEquals(List.of("model-1.safetensors", "model-2.safetensors"), bar.messages);
        assertTrue(bar.closed);
        assertArrayEquals(a, Files.readAllBytes(dir.resolve("model-1.safetensors")));
        assertTrue(notes.isEmpty(), notes.toString());
    }

    @Test
    void filesInFoldersKeepTheirFolders() throws IOException {
        byte[] q = bytes(1234, 3);
        hub.file("quants/deep/m.Q4_0.gguf", q).file("m.Q8_0.gguf", bytes(10, 4));
        List<PulledFile> result = new Pull(new HubClient(hub.endpoint(), null, Duration.ofSeconds(10)), n -> {})
                .run("acme/m", "main", List.of("*Q4_0*"), dir, total -> Progress.none());
        assertEquals(1, result.size());
        assertArrayEquals(q, Files.readAllBytes(dir.resolve("quants/deep/m.Q4_0.gguf")));
        assertTrue(Files.notExists(dir.resolve("m.Q8_0.gguf")));
    }

    @Test
    void aCompletePartFileIsCheckedAndMovedWithoutARequest() throws IOException {
        byte[] a = bytes(5000, 7);
        hub.file("model.safetensors", a);
        Files.write(dir.resolve("model.safetensors.part"), a);  // a run that stopped right before renaming
        List<PulledFile> result = new Pull(new HubClient(hub.endpoint(), null, Duration.ofSeconds(10)), n -> {})
                .run("acme/m", "main", List.of(), dir, total -> Progress.none());
        assertEquals(PulledFile.Status.DOWNLOADED, result.getFirst().status());
        assertTrue(hub.requestsFor("model.safetensors").isEmpty());
        assertArrayEquals(a, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(Files.notExists(dir.resolve("model.safetensors.part")));
    }
}

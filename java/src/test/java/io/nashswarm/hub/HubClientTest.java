package io.nashswarm.hub;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import static io.nashswarm.hub.FakeHub.bytes;
import static io.nashswarm.hub.FakeHub.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class HubClientTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub("acme/m");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private HubClient client(String token) {
        return new HubClient(hub.endpoint() + "/", token, TIMEOUT);
    }

    @Test
    void listsFilesRecursivelyWithSizesAndChecksums() throws Exception {
        byte[] config = text("{\"a\": 1}\n");
        byte[] weights = bytes(4096, 5);
        hub.file("config.json", config).file("sub/dir/model.safetensors", weights);
        List<RepoFile> files = client(null).listFiles("acme/m", "main");
        assertEquals(2, files.size(), "folders are not files: " + files);
        RepoFile c = files.get(0);
        assertEquals("config.json", c.path());
        assertEquals(config.length, c.size());
        assertEquals("git blob sha1", c.checksum().name());
        assertEquals(FakeHub.gitBlobSha1(config), c.checksum().expected());
        RepoFile w = files.get(1);
        assertEquals("sub/dir/model.safetensors", w.path());
        assertEquals("model.safetensors", w.name());
        assertEquals(weights.length, w.size());
        assertEquals("sha256", w.checksum().name(), "LFS files are checked by content sha256, not the pointer oid");
        assertEquals(FakeHub.sha256(weights), w.checksum().expected());
    }

    @Test
    void followsLinkHeadersAcrossPages() {
        for (int i = 0; i < 7; i++) {
            hub.file("f" + i + ".json", text("" + i));
        }
        hub.pageSize = 3;
        List<RepoFile> files = client(null).listFiles("acme/m", "main");
        assertEquals(List.of("f0.json", "f1.json", "f2.json", "f3.json", "f4.json", "f5.json", "f6.json"),
                files.stream().map(RepoFile::path).toList());
        assertEquals(3, hub.seen.size());
    }

    @Test
    void sendsTheTokenAsABearerHeaderOnlyWhenGiven() throws IOException {
        hub.file("config.json", text("{}"));
        HubClient withToken = client("hf_secret");
        withToken.listFiles("acme/m", "main");
        try (var r = withToken.openFile("acme/m", "main", "config.json", 0)) {
            r.body().readAllBytes();
        }
        assertTrue(hub.seen.stream().allMatch(s -> "Bearer hf_secret".equals(s.authorization())), hub.seen.toString());
        hub.seen.clear();
        client("  ").listFiles("acme/m", "main");
        assertNull(hub.seen.getFirst().authorization());
    }

    @Test
    void rangeRequestsReportWhereTheBodyStarts() throws IOException {
        byte[] content = bytes(1000, 6);
        hub.file("model.safetensors", content);
        try (var r = client(null).openFile("acme/m", "main", "model.safetensors", 600)) {
            assertEquals(206, r.status());
            assertEquals(600, r.start());
            assertEquals(1000, r.total());
            assertArrayEquals(java.util.Arrays.copyOfRange(content, 600, 1000), r.body().readAllBytes());
        }
        hub.ignoreRange = true;
        try (var r = client(null).openFile("acme/m", "main", "model.safetensors", 600)) {
            assertEquals(200, r.status());
            assertEquals(0, r.start(), "a server that ignores Range sends the file from byte 0");
            assertArrayEquals(content, r.body().readAllBytes());
        }
    }

    @Test
    void aMissingFileIsNamed() {
        hub.file("config.json", text("{}"));
        EngineException e = assertThrows(EngineException.class,
                () -> client(null).openFile("acme/m", "main", "nope.json", 0));
        assertEquals("nope.json not found in repository acme/m (revision main) at " + hub.endpoint(), e.getMessage());
    }

    @Test
    void aRefusedTokenIsExplained() {
        hub.listingStatus = 403;
        EngineException e = assertThrows(EngineException.class, () -> client("hf_bad").listFiles("acme/m", "main"));
        assertTrue(e.getMessage().contains("HTTP 403") && e.getMessage().contains("HF_TOKEN was sent"), e.getMessage());
    }

    @Test
    void serverErrorsSayToTryLater() {
        hub.listingStatus = 503;
        EngineException e = assertThrows(EngineException.class, () -> client(null).listFiles("acme/m", "main"));
        assertTrue(e.getMessage().contains("answered HTTP 503") && e.getMessage().contains("try again later"),
                e.getMessage());
    }

    @Test
    void aListingThatPointsOutsideTheFolderIsRefused() {
        hub.file("../../.bashrc", text("evil"));
        EngineException e = assertThrows(EngineException.class, () -> client(null).listFiles("acme/m", "main"));
        assertTrue(e.getMessage().contains("unsafe path '../../.bashrc'"), e.getMessage());
    }

    @Test
    void unsafePaths() {
        assertTrue(HubClient.isSafe("config.json"));
        assertTrue(HubClient.isSafe("original/params.json"));
        for (String bad : List.of("", "/etc/passwd", "a/../../b", "./a", "a//b", "a/", "C:\\x", "c:x", "a\\b")) {
            assertFalse(HubClient.isSafe(bad), bad);
        }
    }

    @Test
    void endpointsAndRepositoryIdsAreChecked() {
        assertEquals("https://hf-mirror.com", new HubClient("https://hf-mirror.com//", null, TIMEOUT).endpoint());
        assertThrows(EngineException.class, () -> new HubClient("ftp://x", null, TIMEOUT));
        assertThrows(EngineException.class, () -> new HubClient("huggingface.co", null, TIMEOUT));
        assertEquals("gpt2", HubClient.checkRepoId("gpt2"));
        assertEquals("TinyLlama/TinyLlama-1.1B-Chat-v1.0", HubClient.checkRepoId("TinyLlama/TinyLlama-1.1B-Chat-v1.0"));
        for (String bad : List.of("a/b/c", "../x", "a/..", "/a", "a b", "")) {
            assertThrows(EngineException.class, () -> HubClient.checkRepoId(bad), bad);
        }
    }
}

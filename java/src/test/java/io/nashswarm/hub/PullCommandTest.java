package io.nashswarm.hub;

import io.nashswarm.cli.CliRun;

import io.nashswarm.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.nashswarm.hub.FakeHub.bytes;
import static io.nashswarm.hub.FakeHub.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code nashswarm pull} end to end against a local fake Hub; nothing here touches the internet. */
@Timeout(60)
class PullCommandTest {
    private static final String REPO = "acme/tiny-llama";

    @TempDir
    Path tmp;
    FakeHub hub;
    Path dir;
    byte[] weights;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub(REPO);
        weights = bytes(2 * 1024 * 1024 + 12345, 1);  // more than one read buffer
        hub.file(".gitattributes", text("*.safetensors filter=lfs\n"))
                .file("README.md", text("# tiny\n"))
                .file("config.json", text("{\"hidden_size\": 64}\n"))
                .file("tokenizer.json", text("{\"model\": {}}\n"))
                .file("model.safetensors", weights)
                .file("pytorch_model.bin", bytes(5000, 2));
        dir = tmp.resolve("out");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    record Run(int exit, String out, String err) {}

    private Run pull(String... extra) {
        List<String> args = new ArrayList<>(List.of("pull", REPO, "--dir", dir.toString(),
                "--endpoint", hub.endpoint(), "--timeout", "10"));
        args.addAll(List.of(extra));
        return main(args.toArray(String[]::new));
    }

    static Run main(String... args) {
        CliRun.Result r = CliRun.run(args);
        return new Run(r.code(), r.out(), r.err());
    }

    private List<String> filesIn(Path d) throws IOException {
        try (Stream<Path> s = Files.walk(d)) {
            return s.filter(Files::isRegularFile).map(p -> d.relativize(p).toString()).sorted().toList();
        }
    }

    private static String statusOf(Run run, String file) {
        return run.out().lines().filter(l -> l.startsWith(file + " ")).findFirst()
                .map(l -> l.substring(l.lastIndexOf(' ') + 1)).orElse("<no row for " + file + ">");
    }

    @Test
    void pullsTheFilesTheEngineReadsAndNothingElse() throws IOException {
        Run run = pull();
        assertEquals(0, run.exit(), run.err());
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json"), filesIn(dir));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertArrayEquals(hub.listed.get("config.json"), Files.readAllBytes(dir.resolve("config.json")));
        assertEquals("downloaded", statusOf(run, "model.safetensors"));
        assertEquals("downloaded", statusOf(run, "config.json"));
        assertTrue(run.err().contains("pytorch_model.bin"), "says it skips the pickle: " + run.err());
        assertTrue(hub.requestsFor("pytorch_model.bin").isEmpty());
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().equals("/api/models/" + REPO + "/tree/main")
                && "recursive=true".equals(s.query())), "lists through the tree API");
    }

    @Test
    void resumesAnInterruptedDownloadWithARangeRequest() throws IOException {
        hub.abortOnceAfter.put("model.safetensors", 1024 * 1024 + 7);
        Run first = pull();
        assertEquals(1, first.exit());
        assertTrue(first.err().contains("error: download of model.safetensors stopped after"), first.err());
        assertTrue(first.err().contains("run the same command again to resume"), first.err());
        Path part = dir.resolve("model.safetensors.part");
        long kept = Files.size(part);
        assertTrue(kept > 0 && kept < weights.length, "partial file kept: " + kept);
        assertFalse(Files.exists(dir.resolve("model.safetensors")));

        Run second = pull();
        assertEquals(0, second.exit(), second.err());
        List<FakeHub.Seen> gets = hub.requestsFor("model.safetensors");
        assertEquals("bytes=" + kept + "-", gets.getLast().range());
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(part));
        assertEquals("resumed", statusOf(second, "model.safetensors"));
        assertEquals("skipped", statusOf(second, "config.json"));
    }

    @Test
    void startsOverWhenTheServerIgnoresTheRange() throws IOException {
        hub.ignoreRange = true;
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.safetensors.part"), bytes(1000, 99));  // wrong bytes: must be replaced
        Run run = pull();
        assertEquals(0, run.exit(), run.err());
        assertEquals("bytes=1000-", hub.requestsFor("model.safetensors").getFirst().range());
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals("downloaded", statusOf(run, "model.safetensors"));
        assertTrue(run.err().contains("ignored the resume request"), run.err());
    }

    @Test
    void aFileOfTheWrongSizeIsDeletedWithAClearError() throws IOException {
        hub.servedInstead.put("model.safetensors", bytes(weights.length - 100, 1));
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("error: model.safetensors: size mismatch, expected " + weights.length
                + " bytes (from the listing), got " + (weights.length - 100)), run.err());
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.part")));
    }

    @Test
    void aServerSendingMoreThanListedIsStoppedEvenWithoutContentLength() throws IOException {
        hub.chunked = true;  // no Content-Length: only counting the bytes can catch it
        byte[] longer = new byte[weights.length + 10];
        System.arraycopy(weights, 0, longer, 0, weights.length);
        hub.servedInstead.put("model.safetensors", longer);
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("model.safetensors: size mismatch, expected " + weights.length
                + " bytes (from the listing), got more than " + weights.length), run.err());
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.part")));
    }

    @Test
    void aFileWithTheWrongSha256IsDeletedWithAClearError() throws Exception {
        byte[] corrupt = weights.clone();
        corrupt[corrupt.length / 2] ^= 1;
        hub.servedInstead.put("model.safetensors", corrupt);
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("model.safetensors: sha256 mismatch, expected " + FakeHub.sha256(weights)
                + ", got " + FakeHub.sha256(corrupt)), run.err());
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.part")));
    }

    @Test
    void smallGitFilesAreCheckedAgainstTheirBlobId() throws Exception {
        hub.servedInstead.put("config.json", text("{\"hidden_size\": 65}\n"));  // same length, other content
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("config.json: git blob sha1 mismatch, expected "
                + FakeHub.gitBlobSha1(hub.listed.get("config.json"))), run.err());
        assertFalse(Files.exists(dir.resolve("config.json")));
    }

    @Test
    void anUnknownRepositoryIsReportedByNameRevisionAndEndpoint() {
        hub.listingStatus = 404;
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("error: repository " + REPO + " (revision main) not found at "
                + hub.endpoint()), run.err());
    }

    @Test
    void aGatedRepositoryTellsTheUserToSetHfToken() {
        hub.listingStatus = 401;
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("refused access (HTTP 401)"), run.err());
        assertTrue(run.err().contains("set HF_TOKEN"), run.err());
        assertFalse(run.err().contains("Exception"), "no stack trace: " + run.err());
    }

    @Test
    void includePatternsReplaceTheDefaultChoice() throws IOException {
        hub.file("tiny.Q4_0.gguf", bytes(3000, 3)).file("tiny.Q8_0.gguf", bytes(5000, 4));
        Run run = pull("--include", "*Q4_0.gguf", "--include", "config.json");
        assertEquals(0, run.exit(), run.err());
        assertEquals(List.of("config.json", "tiny.Q4_0.gguf"), filesIn(dir));
        assertArrayEquals(hub.listed.get("tiny.Q4_0.gguf"), Files.readAllBytes(dir.resolve("tiny.Q4_0.gguf")));
        assertTrue(hub.requestsFor("tiny.Q8_0.gguf").isEmpty());
        assertTrue(hub.requestsFor("model.safetensors").isEmpty());
    }

    @Test
    void aGgufOnlyRepositoryAsksWhichFileToTake() {
        hub.listed.remove("model.safetensors");
        hub.listed.remove("pytorch_model.bin");
        hub.file("tiny.Q4_0.gguf", bytes(3000, 3)).file("tiny.Q8_0.gguf", bytes(5000, 4));
        Run run = pull();
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("no safetensors weights but 2 GGUF file(s)"), run.err());
        assertTrue(run.err().contains("tiny.Q8_0.gguf") && run.err().contains("--include"), run.err());
        assertTrue(hub.seen.stream().noneMatch(s -> s.path().contains("/resolve/")), "downloads nothing");
    }

    @Test
    void completeFilesAreSkippedAndAChangedOneIsFetchedAgain() throws IOException {
        assertEquals(0, pull().exit());
        int requests = hub.seen.size();

        Run again = pull();
        assertEquals(0, again.exit(), again.err());
        assertEquals(requests + 1, hub.seen.size(), "only the listing is requested again");
        assertEquals("skipped", statusOf(again, "model.safetensors"));
        assertEquals("skipped", statusOf(again, "config.json"));

        byte[] edited = weights.clone();
        edited[7] ^= 0x40;  // same size, other bytes: only the hash can tell
        Files.write(dir.resolve("model.safetensors"), edited);
        Run third = pull();
        assertEquals(0, third.exit(), third.err());
        assertEquals("downloaded", statusOf(third, "model.safetensors"));
        assertEquals("skipped", statusOf(third, "tokenizer.json"));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertTrue(third.err().contains("differs from the repository"), third.err());
    }

    @Test
    void followsTheRedirectToTheCdn() throws IOException {
        hub.redirectFiles = true;
        Run run = pull();
        assertEquals(0, run.exit(), run.err());
        assertTrue(hub.seen.stream().anyMatch(s -> s.path().equals("/cdn/model.safetensors")));
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    @Test
    void aStalledServerTimesOutAndKeepsThePartialFile() throws IOException {
        hub.stallOnceAfter.put("model.safetensors", 5000);
        Run run = main("pull", REPO, "--dir", dir.toString(), "--endpoint", hub.endpoint(), "--timeout", "1");
        assertEquals(1, run.exit(), run.err());
        assertTrue(run.err().contains("no data received for 1 s"), run.err());
        assertTrue(Files.size(dir.resolve("model.safetensors.part")) > 0);
    }

    @Test
    void anUnreachableEndpointIsAClearError() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();  // closed again: nothing listens there
        }
        Run run = main("pull", REPO, "--dir", dir.toString(), "--endpoint", "http://127.0.0.1:" + port,
                "--timeout", "5");
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("error: cannot connect to http://127.0.0.1:" + port), run.err());
    }

    @Test
    void aBadRepositoryIdIsRefusedBeforeAnyRequest() {
        Run run = main("pull", "../etc", "--dir", dir.toString(), "--endpoint", hub.endpoint());
        assertEquals(1, run.exit());
        assertTrue(run.err().contains("is not a repository id"), run.err());
        assertTrue(hub.seen.isEmpty());
    }
}

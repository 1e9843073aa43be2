package io.nashswarm.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for the Hugging Face Hub on 127.0.0.1 (an ephemeral port) that serves one repository:
 * the tree listing API and the resolve endpoint, with switches for the misbehaviour tests need
 * (dropped connections, ignored ranges, wrong bytes, redirects, errors). It records every request.
 */
final class FakeHub implements AutoCloseable {
    /** One request as the server saw it. */
    record Seen(String method, String path, String query, String range, String authorization) {}

    final String repo;
    final String revision = "main";
    /** What the listing describes (path, content); listing order is insertion order. */
    final Map<String, byte[]> listed = new LinkedHashMap<>();
    /** Bytes actually served for a path when they should differ from the listing. */
    final Map<String, byte[]> servedInstead = new ConcurrentHashMap<>();
    /** Drop the connection after this many body bytes, once per path. */
    final Map<String, Integer> abortOnceAfter = new ConcurrentHashMap<>();
    /** Send this many body bytes, then go silent until the server closes, once per path. */
    final Map<String, Integer> stallOnceAfter = new ConcurrentHashMap<>();
    final List<Seen> seen = new CopyOnWriteArrayList<>();

    volatile boolean ignoreRange;
    volatile boolean redirectFiles;
    volatile boolean chunked;
    volatile int listingStatus = 200;
    volatile int fileStatus = 200;
    volatile int pageSize;  // 0: one page

    private final HttpServer server;
    private final CountDownLatch closing = new CountDownLatch(1);

    FakeHub(String repo) throws IOException {
        this.repo = repo;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    FakeHub file(String path, byte[] content) {
        listed.put(path, content);
        return this;
    }

    /** Deterministic pseudo-random bytes, so every test has its own distinct content. */
    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    List<Seen> requestsFor(String suffix) {
        return seen.stream().filter(s -> s.path().endsWith("/" + suffix)).toList();
    }

    static boolean isLfs(String path) {
        return Set.of("safetensors", "gguf", "bin", "pt", "pth").contains(path.substring(path.lastIndexOf('.') + 1));
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** git's blob id, computed here independently of the engine's Checksum. */
    static String gitBlobSha1(byte[] b) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-1");
        d.update(("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII));
        return HexFormat.of().formatHex(d.digest(b));
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().getPath(), ex.getRequestURI().getRawQuery(),
                ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
        String tree = "/api/models/" + repo + "/tree/" + revision;
        String resolve = "/" + repo + "/resolve/" + revision + "/";
        try {
            if (path.equals(tree)) {
                listing(ex);
            } else if (path.startsWith(resolve)) {
                String file = ex.getRequestURI().getPath().substring(resolve.length());
                if (fileStatus != 200) {
                    error(ex, fileStatus, null);
                } else if (redirectFiles) {
                    ex.getResponseHeaders().add("Location", endpoint() + "/cdn/" + file);
                    ex.sendResponseHeaders(302, -1);
                } else {
                    serve(ex, file);
                }
            } else if (path.startsWith("/cdn/")) {
                serve(ex, ex.getRequestURI().getPath().substring("/cdn/".length()));
            } else {
                error(ex, 404, "RepoNotFound");
            }
        } catch (Abort e) {
            throw e;  // no close(): the server drops the connection of a handler that throws
        } catch (Exception e) {
            throw new IOException(e);
        }
        ex.close();
    }

    private void listing(HttpExchange ex) throws Exception {
        if (listingStatus != 200) {
            error(ex, listingStatus, listingStatus == 404 ? "RepoNotFound" : null);
            return;
        }
        ObjectMapper json = new ObjectMapper();
        List<ObjectNode> entries = new ArrayList<>();
        List<String> dirs = listed.keySet().stream().filter(p -> p.contains("/"))
                .map(p -> p.substring(0, p.lastIndexOf('/'))).distinct().toList();
        for (String d : dirs) {
            ObjectNode e = json.createObjectNode();
            e.put("type", "directory").put("oid", "0".repeat(40)).put("size", 0).put("path", d);
            entries.add(e);
        }
        for (var f : listed.entrySet()) {
            ObjectNode e = json.createObjectNode();
            byte[] content = f.getValue();
            e.put("type", "file").put("size", content.length).put("path", f.getKey());
            if (isLfs(f.getKey())) {
                e.put("oid", gitBlobSha1(text("pointer " + f.getKey())));  // the pointer's blob, not the content
                e.putObject("lfs").put("oid", sha256(content)).put("size", content.length).put("pointerSize", 134);
            } else {
                e.put("oid", gitBlobSha1(content));
            }
            entries.add(e);
        }
        int from = 0;
        String query = ex.getRequestURI().getRawQuery();
        if (query != null && query.contains("cursor=")) {
            from = Integer.parseInt(query.substring(query.indexOf("cursor=") + 7));
        }
        int to = pageSize == 0 ? entries.size() : Math.min(entries.size(), from + pageSize);
        if (to < entries.size()) {
            ex.getResponseHeaders().add("Link", "<" + endpoint() + "/api/models/" + repo + "/tree/" + revision
                    + "?recursive=true&cursor=" + to + ">; rel=\"next\"");
        }
        ArrayNode page = json.createArrayNode().addAll(entries.subList(from, to));
        byte[] body = json.writeValueAsBytes(page);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    private void serve(HttpExchange ex, String file) throws Exception {
        byte[] content = servedInstead.getOrDefault(file, listed.get(file));
        if (content == null) {
            error(ex, 404, "EntryNotFound");
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        int start = 0;
        if (range != null && !ignoreRange) {
            start = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
            if (start >= content.length) {
                ex.sendResponseHeaders(416, -1);
                return;
            }
            ex.getResponseHeaders().add("Content-Range",
                    "bytes " + start + "-" + (content.length - 1) + "/" + content.length);
        }
        byte[] body = Arrays.copyOfRange(content, start, content.length);
        ex.sendResponseHeaders(start > 0 ? 206 : 200, chunked ? 0 : body.length);
        OutputStream out = ex.getResponseBody();
        Integer abortAt = abortOnceAfter.remove(file);
        Integer stallAt = stallOnceAfter.remove(file);
        if (abortAt != null) {
            out.write(body, 0, abortAt);
            out.flush();
            throw new Abort();
        }
        if (stallAt != null) {
            out.write(body, 0, stallAt);
            out.flush();
            closing.await(30, TimeUnit.SECONDS);
            throw new Abort();
        }
        out.write(body);
    }

    private static void error(HttpExchange ex, int status, String code) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().add("X-Error-Code", code);
        }
        byte[] body = text("{\"error\":\"fake hub says no\"}");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    /** Thrown by a handler to make the server drop the connection mid-body. */
    private static final class Abort extends RuntimeException {
        Abort() {
            super("fake hub drops the connection", null, false, false);
        }
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}

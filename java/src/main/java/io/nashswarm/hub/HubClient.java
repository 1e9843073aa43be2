package io.nashswarm.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.EngineException;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Talks to the Hugging Face Hub (or a mirror with the same API): lists a model repository's files and
 * opens them for download. Every failure becomes an {@link EngineException} that says what to do.
 *
 * <p>Endpoints used, as huggingface_hub uses them: {@code GET {endpoint}/api/models/{repo}/tree/{revision}
 * ?recursive=true} (a JSON array of {type, path, size, oid, lfs: {oid, size}}, paginated with a
 * {@code Link: <...>; rel="next"} header) and {@code GET {endpoint}/{repo}/resolve/{revision}/{path}},
 * which answers small files itself and redirects LFS files to a CDN.
 */
public final class HubClient {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][\\w.-]*(/[A-Za-z0-9][\\w.-]*)?");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
    private static final Pattern GIT_SHA1 = Pattern.compile("[0-9a-fA-F]{40}");
    private static final Pattern NEXT_LINK = Pattern.compile("<([^>]*)>\\s*;[^,]*rel=\"?next\"?");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String endpoint;
    private final String token;
    private final Duration timeout;
    private final HttpClient http;

    /**
     * @param endpoint  base URL, e.g. {@link #DEFAULT_ENDPOINT} or {@code http://127.0.0.1:8080}
     * @param token     access token sent as {@code Authorization: Bearer}, or null/blank for none
     * @param timeout   limit for connecting, for the response headers and for each wait for body data
     */
    public HubClient(String endpoint, String token, Duration timeout) {
        this.endpoint = checkEndpoint(endpoint);
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.timeout = timeout;
        // NORMAL follows the Hub's redirects (LFS files go to a CDN, renamed repos to their new name) but
        // never from https down to http; the JDK drops Authorization when a redirect leaves the origin.
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
    }

    public String endpoint() {
        return endpoint;
    }

    /** Checks a repository id such as {@code gpt2} or {@code TinyLlama/TinyLlama-1.1B-Chat-v1.0}. */
    public static String checkRepoId(String repo) {
        if (repo == null || !REPO_ID.matcher(repo).matches() || repo.contains("..")) {
            throw new EngineException("'" + repo + "' is not a repository id; expected NAME or OWNER/NAME,"
                    + " e.g. gpt2 or TinyLlama/TinyLlama-1.1B-Chat-v1.0");
        }
        return repo;
    }

    /** Every file of the repository at that revision (folders are walked recursively). */
    public List<RepoFile> listFiles(String repo, String revision) {
        checkRepoId(repo);
        URI uri = uri(endpoint + "/api/models/" + repo + "/tree/" + segment(revision) + "?recursive=true");
        List<RepoFile> files = new ArrayList<>();
        while (uri != null) {
            HttpResponse<byte[]> r = send(request(uri).build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw failure(r.statusCode(), r.headers(), repo, revision, null);
            }
            JsonNode page;
            try {
                page = JSON.readTree(r.body());
            } catch (IOException e) {
                throw new EngineException("the file listing from " + uri + " is not JSON: " + describe(e));
            }
            if (page == null || !page.isArray()) {
                throw new EngineException("the file listing from " + uri + " is not a JSON array");
            }
            for (JsonNode entry : page) {
                if ("file".equals(entry.path("type").asText())) {
                    files.add(repoFile(entry, repo));
                }
            }
            uri = nextPage(r);
        }
        return files;
    }

    /**
     * Starts the download of one file from byte {@code offset} (a {@code Range} request when above 0).
     * The caller must check {@link FileResponse#start()}: a server may ignore the range and send it all.
     */
    public FileResponse openFile(String repo, String revision, String path, long offset) {
        checkRepoId(repo);
        StringBuilder url = new StringBuilder(endpoint).append('/').append(repo)
                .append("/resolve/").append(segment(revision));
        for (String part : path.split("/")) {
            url.append('/').append(segment(part));
        }
        HttpRequest.Builder req = request(uri(url.toString()));
        if (offset > 0) {
            req.header("Range", "bytes=" + offset + "-");
        }
        HttpResponse<InputStream> r = send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        int status = r.statusCode();
        if (status == 200) {
            long length = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            return new FileResponse(200, 0, length, new IdleTimeoutInputStream(r.body(), timeout));
        }
        if (status == 206) {
            String range = r.headers().firstValue("Content-Range").orElse("");
            Matcher m = CONTENT_RANGE.matcher(range);
            if (!m.matches()) {
                close(r.body());
                throw new EngineException(r.uri() + " answered a range request with Content-Range '" + range
                        + "', which is not bytes START-END/TOTAL");
            }
            long total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
            return new FileResponse(206, Long.parseLong(m.group(1)), total,
                    new IdleTimeoutInputStream(r.body(), timeout));
        }
        close(r.body());
        if (status == 416) {
            return new FileResponse(416, 0, -1, InputStream.nullInputStream());
        }
        throw failure(status, r.headers(), repo, revision, path);
    }

    /**
     * An open download: HTTP status (200 whole file, 206 partial, 416 range not satisfiable), the offset
     * of the first byte of {@code body}, and the whole file's size as the server states it (-1 unknown).
     */
    public record FileResponse(int status, long start, long total, InputStream body) implements AutoCloseable {
        @Override
        public void close() {
            HubClient.close(body);
        }
    }

    private RepoFile repoFile(JsonNode entry, String repo) {
        String path = entry.path("path").asText(null);
        JsonNode size = entry.get("size");
        if (path == null || size == null || !size.canConvertToLong() || size.asLong() < 0) {
            throw new EngineException("the file listing of " + repo + " from " + endpoint
                    + " has an entry without a path or size: " + entry);
        }
        if (!isSafe(path)) {
            throw new EngineException("the file listing of " + repo + " from " + endpoint
                    + " has the unsafe path '" + path + "'; refusing to download it");
        }
        JsonNode lfs = entry.get("lfs");
        String oid = entry.path("oid").asText("");
        Checksum checksum = null;
        if (lfs != null && lfs.isObject()) {
            String sha = lfs.path("oid").asText("");
            checksum = SHA256.matcher(sha).matches() ? Checksum.sha256(sha) : null;
        } else if (GIT_SHA1.matcher(oid).matches()) {
            checksum = Checksum.gitBlob(oid, size.asLong());
        }
        return new RepoFile(path, size.asLong(), checksum);
    }

    /** A relative path with no way out of the target folder. */
    static boolean isSafe(String path) {
        if (path.isEmpty() || path.startsWith("/") || path.contains("\\") || path.contains(":")
                || path.indexOf('\0') >= 0) {
            return false;
        }
        for (String part : path.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private EngineException failure(int status, HttpHeaders headers, String repo, String revision, String path) {
        String code = headers.firstValue("X-Error-Code").orElse("");
        String said = headers.firstValue("X-Error-Message").map(m -> " (server: " + m + ")").orElse("");
        String where = "repository " + repo + " (revision " + revision + ")";
        if (status == 401 || status == 403) {
            String hint = token == null
                    ? " The model may be gated or private (or may not exist): accept its license on its page,"
                      + " create an access token at https://huggingface.co/settings/tokens and set HF_TOKEN to it."
                    : " HF_TOKEN was sent: check that it is valid, has read access, and that you accepted"
                      + " the model's license on its page.";
            return new EngineException(where + " at " + endpoint + " refused access (HTTP " + status + ")."
                    + hint + said);
        }
        if (status == 404) {
            if (path != null && !code.equals("RepoNotFound") && !code.equals("RevisionNotFound")) {
                return new EngineException(path + " not found in " + where + " at " + endpoint + said);
            }
            return new EngineException(where + " not found at " + endpoint + said);
        }
        if (status == 429) {
            return new EngineException(endpoint + " is rate limiting requests (HTTP 429); wait a while and try again"
                    + said);
        }
        String what = path == null ? "the file listing of " + where : path + " of " + where;
        return new EngineException(endpoint + " answered HTTP " + status + " for " + what
                + (status >= 500 ? "; the server has a problem, try again later" : "") + said);
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("User-Agent", "nashswarm/0.1.0; java/" + Runtime.version().feature());
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(req, handler);
        } catch (HttpTimeoutException e) {
            throw new EngineException("no answer from " + endpoint + " within " + timeout.toSeconds()
                    + " s (" + req.uri() + "); check your connection or raise --timeout", e);
        } catch (ConnectException e) {
            throw new EngineException("cannot connect to " + endpoint + " (" + describe(e)
                    + "); check your internet connection, proxy, or --endpoint / HF_ENDPOINT", e);
        } catch (IOException e) {
            throw new EngineException("network error talking to " + endpoint + " (" + req.uri() + "): "
                    + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineException("interrupted while talking to " + endpoint, e);
        }
    }

    /** A readable cause; many java.net exceptions have a null message. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        if ((m == null || m.isBlank()) && e.getCause() != null && e.getCause() != e) {
            return describe(e.getCause());
        }
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static URI nextPage(HttpResponse<?> r) {
        for (String link : r.headers().allValues("Link")) {
            Matcher m = NEXT_LINK.matcher(link);
            if (m.find()) {
                return r.uri().resolve(m.group(1));
            }
        }
        return null;
    }

    private static String checkEndpoint(String endpoint) {
        String e = endpoint == null ? "" : endpoint.strip();
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        try {
            URI u = new URI(e);
            if (("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null
                    && u.getQuery() == null && u.getFragment() == null) {
                return e;
            }
        } catch (URISyntaxException ignored) {
            // reported below
        }
        throw new EngineException("endpoint '" + endpoint + "' is not an http(s) URL such as " + DEFAULT_ENDPOINT);
    }

    private static URI uri(String s) {
        try {
            return new URI(s);
        } catch (URISyntaxException e) {
            throw new EngineException("cannot build a URL from '" + s + "': " + e.getMessage());
        }
    }

    /** Percent-encodes one path segment (URLEncoder is for forms: it writes a space as '+'). */
    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // nothing useful to do: the response is abandoned
        }
    }
}

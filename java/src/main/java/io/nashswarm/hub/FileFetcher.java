package io.nashswarm.hub;

import io.nashswarm.EngineException;
import io.nashswarm.util.Progress;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.function.Consumer;

/**
 * Brings one repository file into the target folder safely: bytes go to {@code <file>.part}, an
 * interrupted download resumes from there with a {@code Range} request, and only a file with the listed
 * size and hash is renamed (atomically) to its final name. A wrong one is deleted, never kept.
 */
final class FileFetcher {
    private static final int BUFFER = 1 << 20;

    private final HubClient client;
    private final String repo;
    private final String revision;
    private final Path dir;
    private final Consumer<String> notes;

    FileFetcher(HubClient client, String repo, String revision, Path dir, Consumer<String> notes) {
        this.client = client;
        this.repo = repo;
        this.revision = revision;
        this.dir = dir;
        this.notes = notes;
    }

    Path target(RepoFile f) {
        Path p = dir.resolve(f.path()).normalize();
        if (!p.startsWith(dir.normalize())) {  // HubClient already refuses such paths; this guards the disk
            throw new EngineException("refusing to write " + f.path() + " outside " + dir);
        }
        return p;
    }

    Path part(RepoFile f) {
        Path t = target(f);
        return t.resolveSibling(t.getFileName() + ".part");
    }

    /** Whether the final file is already there with the listed size and hash. */
    boolean isComplete(RepoFile f) {
        Path t = target(f);
        try {
            if (!Files.isRegularFile(t)) {
                return false;
            }
            long size = Files.size(t);
            String hash = null;
            if (size == f.size() && f.checksum() != null) {
                MessageDigest d = f.checksum().start();
                hashPrefix(t, size, d);
                hash = Checksum.hex(d);
            }
            if (size == f.size() && (hash == null || hash.equals(f.checksum().expected()))) {
                return true;
            }
            notes.accept(t + " differs from the repository ("
                    + (size != f.size() ? size + " bytes instead of " + f.size() : f.checksum().name() + " " + hash
                    + " instead of " + f.checksum().expected()) + "); downloading it again");
            return false;
        } catch (IOException e) {
            throw new EngineException("cannot read " + t + ": " + HubClient.describe(e), e);
        }
    }

    /** Bytes of {@code f} already on disk in its {@code .part} file (0 when none or unusable). */
    long partialBytes(RepoFile f) {
        Path p = part(f);
        try {
            long n = Files.isRegularFile(p) ? Files.size(p) : 0;
            return n <= f.size() ? n : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Downloads (or resumes) {@code f}, checks it and moves it into place. */
    PulledFile fetch(RepoFile f, Progress progress) {
        Path target = target(f);
        Path part = part(f);
        try {
            Files.createDirectories(target.getParent());
        } catch (IOException e) {
            throw new EngineException("cannot create folder " + target.getParent() + ": " + HubClient.describe(e), e);
        }
        long offset = partialBytes(f);
        boolean resumed = false;
        MessageDigest digest = f.checksum() == null ? null : f.checksum().start();
        if (offset == f.size() && f.size() > 0) {  // a previous run got every byte but stopped before checking
            hash(part, offset, digest);
        } else {
            HubClient.FileResponse r = client.openFile(repo, revision, f.path(), offset);
            if (r.status() == 416) {  // the .part is not a prefix the server can continue; start over
                notes.accept("the server cannot continue " + part + "; downloading " + f.path() + " from the start");
                offset = 0;
                r = client.openFile(repo, revision, f.path(), 0);
            }
            try (HubClient.FileResponse response = r) {
                if (offset > 0 && response.start() != offset) {
                    if (response.start() != 0) {
                        throw new EngineException("asked for " + f.path() + " from byte " + offset
                                + " but the server sent it from byte " + response.start());
                    }
                    notes.accept("the server ignored the resume request for " + f.path()
                            + "; downloading it from the start");
                    offset = 0;
                }
                resumed = offset > 0;
                if (response.total() >= 0 && response.total() != f.size()) {
                    deleteQuietly(part);
                    throw sizeMismatch(f, response.total());
                }
                hash(part, offset, digest);  // hashing continues over the new bytes as they arrive
                receive(f, part, offset, response.body(), digest, progress);
            }
        }
        verify(f, part, digest);
        try {
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new EngineException("cannot rename " + part + " to " + target + ": " + HubClient.describe(e), e);
        }
        return new PulledFile(f.path(), f.size(), resumed ? PulledFile.Status.RESUMED : PulledFile.Status.DOWNLOADED);
    }

    /** Appends the body to the .part file from {@code offset}; a broken connection keeps what arrived. */
    private void receive(RepoFile f, Path part, long offset, InputStream body, MessageDigest digest,
                         Progress progress) {
        long have = offset;
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            out.truncate(offset);
            out.position(offset);
            byte[] buf = new byte[BUFFER];
            while (true) {
                int n;
                try {
                    n = body.read(buf);
                } catch (IOException e) {
                    out.force(true);
                    throw new EngineException("download of " + f.path() + " stopped after " + have + " of "
                            + f.size() + " bytes (network error: " + HubClient.describe(e) + "); " + part
                            + " is kept: run the same command again to resume", e);
                }
                if (n < 0) {
                    break;
                }
                if (have + n > f.size()) {  // never write (or wait for) more than the listing promised
                    out.close();
                    deleteQuietly(part);
                    throw sizeMismatch(f, "more than " + f.size());
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    out.write(bb);
                }
                if (digest != null) {
                    digest.update(buf, 0, n);
                }
                have += n;
                progress.step(n);
            }
            out.force(true);  // the rename below must not publish a file whose bytes are still in cache
        } catch (IOException e) {
            throw new EngineException("cannot write " + part + ": " + HubClient.describe(e), e);
        }
    }

    /** Size of the .part and the hash of its bytes against the listing; a bad file is deleted. */
    private void verify(RepoFile f, Path part, MessageDigest digest) {
        long size;
        try {
            size = Files.isRegularFile(part) ? Files.size(part) : 0;
        } catch (IOException e) {
            throw new EngineException("cannot read " + part + ": " + HubClient.describe(e), e);
        }
        if (size != f.size()) {
            deleteQuietly(part);
            throw sizeMismatch(f, size);
        }
        if (digest != null) {
            String got = Checksum.hex(digest);
            if (!got.equals(f.checksum().expected())) {
                deleteQuietly(part);
                throw new EngineException(f.path() + ": " + f.checksum().name() + " mismatch, expected "
                        + f.checksum().expected() + ", got " + got + "; the download was deleted, run again");
            }
        }
    }

    /** Feeds the first {@code length} bytes of {@code file} to {@code d} (nothing when d is null). */
    private static void hash(Path file, long length, MessageDigest d) {
        if (d == null || length == 0) {
            return;
        }
        try {
            hashPrefix(file, length, d);
        } catch (IOException e) {
            throw new EngineException("cannot read " + file + ": " + HubClient.describe(e), e);
        }
    }

    private static EngineException sizeMismatch(RepoFile f, Object got) {
        return new EngineException(f.path() + ": size mismatch, expected " + f.size() + " bytes (from the listing), got "
                + got + "; the download was deleted, run again");
    }

    private static void hashPrefix(Path file, long length, MessageDigest d) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[BUFFER];
            long left = length;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException("file ended after " + (length - left) + " of " + length + " bytes");
                }
                d.update(buf, 0, n);
                left -= n;
            }
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the error being reported matters more
        }
    }
}

package io.nashswarm.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Maps checkpoint files read-only and reads their first bytes, turning I/O failures into {@link FormatException}s. */
public final class MappedFiles {
    private MappedFiles() {}

    /** Maps the whole file read-only into {@code arena}; the mapping lives until the arena is closed. */
    public static MemorySegment map(Path file, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "no such file");
        } catch (IOException | UnsupportedOperationException e) {
            throw new FormatException(file, "cannot map file: " + e.getMessage(), e);
        }
    }

    /** Up to {@code n} bytes from the start of the file (fewer if the file is shorter). */
    public static byte[] head(Path file, int n) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(n, ch.size()));
            while (b.hasRemaining() && ch.read(b) > 0) {
                // keep reading: a channel may return fewer bytes than asked
            }
            byte[] out = new byte[b.position()];
            b.flip().get(out);
            return out;
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "no such file");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read file: " + e.getMessage(), e);
        }
    }

    public static long size(Path file) {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "no such file");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read file: " + e.getMessage(), e);
        }
    }
}

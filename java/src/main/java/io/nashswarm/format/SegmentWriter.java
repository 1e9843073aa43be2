package io.nashswarm.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Writes memory segments (heap or mapped, of any size) and zero padding to a channel. */
public final class SegmentWriter {
    private static final long CHUNK = 16L << 20;

    private SegmentWriter() {}

    public static void write(FileChannel out, MemorySegment data) throws IOException {
        for (long off = 0; off < data.byteSize(); off += CHUNK) {
            writeFully(out, data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer());
        }
    }

    public static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    public static void zeros(FileChannel out, long n) throws IOException {
        if (n > 0) {
            writeFully(out, ByteBuffer.allocate(Math.toIntExact(n)));
        }
    }

    public static long alignUp(long n, long alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }
}

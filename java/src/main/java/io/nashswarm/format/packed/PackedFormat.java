package io.nashswarm.format.packed;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** Constants of the packed model file (see the package documentation) and its checksum. */
public final class PackedFormat {
    private PackedFormat() {}

    /** {@link io.nashswarm.format.LoadedModel#format()} of a packed file. */
    public static final String FORMAT = "nashswarm-packed";
    /** The usual file name extension (files are recognised by their magic, not by this). */
    public static final String EXTENSION = ".nsq";
    /** "NSWQ" read as a little-endian int. */
    public static final int MAGIC = 'N' | 'S' << 8 | 'W' << 16 | 'Q' << 24;
    public static final int VERSION = 1;
    /** Magic, version, header length. */
    public static final int PREAMBLE_BYTES = 16;
    /** Every section starts at a multiple of this (a cache line; more than any kernel needs). */
    public static final int ALIGNMENT = 64;
    /** Headers are a few MB at most (a 128k-token vocabulary with merges); anything larger is corruption. */
    public static final long MAX_HEADER_BYTES = 256L << 20;

    /** Whether a file starts with the packed magic. */
    public static boolean hasMagic(byte[] head) {
        return head.length >= 4 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
    }

    /** CRC32C of a segment of any size (heap or mapped), in chunks a ByteBuffer can hold. */
    public static int crc32c(MemorySegment data) {
        CRC32C crc = new CRC32C();
        long chunk = 1L << 30;
        for (long off = 0; off < data.byteSize(); off += chunk) {
            crc.update(data.asSlice(off, Math.min(chunk, data.byteSize() - off)).asByteBuffer());
        }
        return (int) crc.getValue();
    }

    static String hex(int crc) {
        return String.format("%08x", crc);
    }

    static long alignUp(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }
}

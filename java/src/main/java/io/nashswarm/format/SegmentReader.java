package io.nashswarm.format;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A little-endian cursor over a file's bytes that checks every read against the end of the file
 * first, so a truncated or lying header becomes a {@link FormatException} instead of an
 * out-of-bounds error (or a crash on a memory-mapped file).
 */
public final class SegmentReader {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment data;
    private long pos;

    public SegmentReader(Path file, MemorySegment data, long position) {
        this.file = file;
        this.data = data;
        this.pos = position;
    }

    public Path file() { return file; }
    public long position() { return pos; }
    public long size() { return data.byteSize(); }
    public long remaining() { return data.byteSize() - pos; }

    /** Fails unless {@code n} more bytes exist; {@code what} names the field for the message. */
    public void require(long n, String what) {
        if (n < 0 || n > remaining()) {
            throw new FormatException(file, "truncated: " + what + " needs " + (n < 0 ? "an impossible number of" : String.valueOf(n))
                    + " bytes at offset " + pos + " but the file has " + size() + " bytes");
        }
    }

    public void skip(long n, String what) {
        require(n, what);
        pos += n;
    }

    public int u8(String what) {
        require(1, what);
        return data.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
    }

    public byte i8(String what) {
        require(1, what);
        return data.get(ValueLayout.JAVA_BYTE, pos++);
    }

    public short i16(String what) {
        require(2, what);
        short v = data.get(I16, pos);
        pos += 2;
        return v;
    }

    public int i32(String what) {
        require(4, what);
        int v = data.get(I32, pos);
        pos += 4;
        return v;
    }

    public long i64(String what) {
        require(8, what);
        long v = data.get(I64, pos);
        pos += 8;
        return v;
    }

    public float f32(String what) {
        require(4, what);
        float v = data.get(F32, pos);
        pos += 4;
        return v;
    }

    public double f64(String what) {
        require(8, what);
        double v = data.get(F64, pos);
        pos += 8;
        return v;
    }

    public byte[] bytes(long n, String what) {
        require(n, what);
        if (n > Integer.MAX_VALUE - 16) {
            throw new FormatException(file, what + " of " + n + " bytes is too large");
        }
        byte[] b = data.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return b;
    }

    public String utf8(long n, String what) {
        return new String(bytes(n, what), StandardCharsets.UTF_8);
    }
}

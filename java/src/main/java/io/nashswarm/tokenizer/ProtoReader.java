package io.nashswarm.tokenizer;

/**
 * Reads the protobuf wire format (varints, fixed32/64, length-delimited fields) from a byte array,
 * checking every length against the bytes that are left. Enough to read SentencePiece's
 * ModelProto without generated classes or a protobuf dependency.
 */
final class ProtoReader {
    static final int VARINT = 0, FIXED64 = 1, LENGTH_DELIMITED = 2, FIXED32 = 5;

    /** The input is not valid protobuf; the message says where and why. */
    static final class Malformed extends RuntimeException {
        Malformed(String message) {
            super(message);
        }
    }

    private final byte[] data;
    private int pos;
    private final int limit;

    ProtoReader(byte[] data) {
        this(data, 0, data.length);
    }

    private ProtoReader(byte[] data, int start, int limit) {
        this.data = data;
        this.pos = start;
        this.limit = limit;
    }

    boolean atEnd() {
        return pos >= limit;
    }

    /** The next field's tag (field number &lt;&lt; 3 | wire type). */
    int readTag() {
        long tag = readVarint();
        int field = (int) (tag >>> 3);
        if (tag >>> 32 != 0 || field == 0) {
            throw new Malformed("invalid field tag " + tag + " at byte " + pos);
        }
        return (int) tag;
    }

    static int fieldNumber(int tag) {
        return tag >>> 3;
    }

    static int wireType(int tag) {
        return tag & 7;
    }

    long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) {
                throw new Malformed("truncated varint at byte " + pos);
            }
            byte b = data[pos++];
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw new Malformed("varint longer than 10 bytes at byte " + pos);
    }

    int readFixed32() {
        need(4);
        int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8 | (data[pos + 2] & 0xff) << 16 | (data[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    float readFloat() {
        return Float.intBitsToFloat(readFixed32());
    }

    boolean readBool() {
        return readVarint() != 0;
    }

    /** A length-delimited field as a reader over just its bytes. */
    ProtoReader readMessage() {
        int length = readLength();
        ProtoReader sub = new ProtoReader(data, pos, pos + length);
        pos += length;
        return sub;
    }

    byte[] readBytes() {
        int length = readLength();
        byte[] out = new byte[length];
        System.arraycopy(data, pos, out, 0, length);
        pos += length;
        return out;
    }

    /** A string field; protobuf strings must be UTF-8. */
    String readString() {
        byte[] bytes = readBytes();
        return Utf8.decodeStrict(bytes).orElseThrow(() -> new Malformed("string field is not valid UTF-8 (ending at byte " + pos + ")"));
    }

    void skip(int tag) {
        switch (wireType(tag)) {
            case VARINT -> readVarint();
            case FIXED64 -> { need(8); pos += 8; }
            case LENGTH_DELIMITED -> {
                int length = readLength(); // read first: "pos += readLength()" would use the old pos
                pos += length;
            }
            case FIXED32 -> { need(4); pos += 4; }
            default -> throw new Malformed("unsupported wire type " + wireType(tag) + " of field "
                    + fieldNumber(tag) + " at byte " + pos);
        }
    }

    private int readLength() {
        long length = readVarint();
        if (length < 0 || length > limit - pos) {
            throw new Malformed("field length " + length + " at byte " + pos + " runs past the end of its message ("
                    + (limit - pos) + " bytes left)");
        }
        return (int) length;
    }

    private void need(int n) {
        if (limit - pos < n) {
            throw new Malformed("truncated field at byte " + pos);
        }
    }
}

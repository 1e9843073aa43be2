package io.nashswarm.format;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds GGUF bytes by hand, field by field, straight from the GGUF specification (all
 * little-endian): for files the writer would never produce (corrupt ones) and as an independent
 * check of {@link io.nashswarm.format.gguf.GgufWriter}.
 */
final class GgufBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    GgufBytes u8(int v) { out.write(v); return this; }
    GgufBytes u16(int v) { return u8(v & 0xFF).u8((v >>> 8) & 0xFF); }
    GgufBytes u32(long v) { return u16((int) (v & 0xFFFF)).u16((int) ((v >>> 16) & 0xFFFF)); }
    GgufBytes u64(long v) { return u32(v & 0xFFFFFFFFL).u32(v >>> 32); }
    GgufBytes f32(float v) { return u32(Float.floatToRawIntBits(v) & 0xFFFFFFFFL); }

    GgufBytes raw(byte[] b) { out.writeBytes(b); return this; }

    GgufBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).raw(b);
    }

    /** "GGUF", version, tensor count, metadata count. */
    GgufBytes header(int version, long tensors, long kvs) {
        return raw("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(version).u64(tensors).u64(kvs);
    }

    GgufBytes kvString(String key, String value) { return str(key).u32(8).str(value); }
    GgufBytes kvU32(String key, long value) { return str(key).u32(4).u32(value); }
    GgufBytes kvF32(String key, float value) { return str(key).u32(6).f32(value); }

    /** A 2-D tensor info: ne = [cols, rows]. */
    GgufBytes tensor(String name, int ggmlType, long offset, long... ne) {
        str(name).u32(ne.length);
        for (long d : ne) {
            u64(d);
        }
        return u32(ggmlType).u64(offset);
    }

    GgufBytes padTo(int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
        return this;
    }

    int size() { return out.size(); }

    byte[] bytes() { return out.toByteArray(); }
}

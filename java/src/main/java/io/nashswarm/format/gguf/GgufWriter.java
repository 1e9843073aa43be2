package io.nashswarm.format.gguf;

import io.nashswarm.format.AtomicFile;
import io.nashswarm.format.SegmentWriter;
import io.nashswarm.tensor.QuantType;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes a GGUF v3 file: metadata of any type, tensor infos, then each tensor's data aligned to
 * {@code general.alignment} (default 32). Tensor data may be given up front or supplied lazily,
 * one tensor at a time while writing, so a quantizer never holds a whole model in memory. The
 * file appears atomically (temporary file in the same directory, then a rename).
 *
 * <pre>{@code
 * new GgufWriter()
 *     .put("general.architecture", GgufValue.string("llama"))
 *     .put("llama.block_count", GgufValue.uint32(2))
 *     .addMatrix("blk.0.attn_q.weight", QuantType.Q8_0, rows, cols, bytes)
 *     .write(path);
 * }</pre>
 */
public final class GgufWriter {
    private record Pending(String name, QuantType type, long[] ne, long bytes, Supplier<MemorySegment> data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();

    public GgufWriter put(String key, GgufValue value) {
        if (key.equals("general.alignment")) {
            long a = value.value() instanceof Long l ? l : -1;
            if (value.type() != GgufType.UINT32 || a <= 0 || Long.bitCount(a) != 1) {
                throw new IllegalArgumentException("general.alignment must be a uint32 power of two, got " + value);
            }
        }
        metadata.put(key, value);
        return this;
    }

    /** Copies every metadata entry of another file (types preserved). */
    public GgufWriter putAll(Map<String, GgufValue> entries) {
        entries.forEach(this::put);
        return this;
    }

    /** Adds a tensor whose bytes are at hand; {@code ne} is innermost-first (ggml order). */
    public GgufWriter addTensor(String name, QuantType type, long[] ne, MemorySegment data) {
        return addTensor(name, type, ne, () -> data);
    }

    /** Adds a tensor whose bytes are produced when the writer reaches it (and dropped right after). */
    public GgufWriter addTensor(String name, QuantType type, long[] ne, Supplier<MemorySegment> data) {
        if (ne.length < 1 || ne.length > GgufFile.MAX_DIMS || Arrays.stream(ne).anyMatch(d -> d < 0)) {
            throw new IllegalArgumentException(name + ": bad dimensions " + Arrays.toString(ne));
        }
        if (type.ggmlId() < 0) {
            throw new IllegalArgumentException(name + ": GGUF has no " + type.label() + " type");
        }
        if (ne[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": " + ne[0] + " columns is not a multiple of the " + type.label() + " block size");
        }
        if (tensors.stream().anyMatch(t -> t.name.equals(name))) {
            throw new IllegalArgumentException("tensor " + name + " added twice");
        }
        long count = Arrays.stream(ne).reduce(1, Math::multiplyExact);
        tensors.add(new Pending(name, type, ne.clone(), type.bytesFor(count), data));
        return this;
    }

    /** A {@code rows × cols} matrix stored row by row ({@code ne = [cols, rows]}). */
    public GgufWriter addMatrix(String name, QuantType type, int rows, int cols, MemorySegment data) {
        return addTensor(name, type, new long[] {cols, rows}, data);
    }

    public GgufWriter addVector(String name, float[] values) {
        return addTensor(name, QuantType.F32, new long[] {values.length}, MemorySegment.ofArray(littleEndian(values)));
    }

    public void write(Path target) {
        long alignment = metadata.containsKey("general.alignment")
                ? ((Number) metadata.get("general.alignment").value()).longValue() : GgufFile.DEFAULT_ALIGNMENT;
        Header h = new Header();
        h.i32(GgufFile.MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
        metadata.forEach((k, v) -> {
            h.string(k).i32(v.type().id());
            h.value(v.type(), v.value());
        });
        long offset = 0;
        for (Pending t : tensors) {
            h.string(t.name).i32(t.ne.length);
            for (long d : t.ne) {
                h.i64(d);
            }
            h.i32(t.type.ggmlId()).i64(offset);
            offset = SegmentWriter.alignUp(offset + t.bytes, alignment);
        }
        byte[] header = h.bytes();
        AtomicFile.write(target, out -> {
            SegmentWriter.writeFully(out, ByteBuffer.wrap(header));
            SegmentWriter.zeros(out, SegmentWriter.alignUp(header.length, alignment) - header.length);
            for (Pending t : tensors) {
                MemorySegment data = t.data.get();
                if (data.byteSize() != t.bytes) {
                    throw new IllegalArgumentException(t.name + ": " + t.type.label() + " " + Arrays.toString(t.ne)
                            + " needs " + t.bytes + " bytes, got " + data.byteSize());
                }
                SegmentWriter.write(out, data);
                SegmentWriter.zeros(out, SegmentWriter.alignUp(t.bytes, alignment) - t.bytes);
            }
        });
    }

    static byte[] littleEndian(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    /** Little-endian header bytes. */
    private static final class Header {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Header i8(int v) { out.write(v); return this; }
        Header i16(int v) { return i8(v).i8(v >>> 8); }
        Header i32(int v) { return i16(v).i16(v >>> 16); }
        Header i64(long v) { return i32((int) v).i32((int) (v >>> 32)); }

        Header string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            out.writeBytes(b);
            return this;
        }

        void value(GgufType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> i8((Integer) v);
                case UINT16, INT16 -> i16((Integer) v);
                case INT32 -> i32((Integer) v);
                case UINT32 -> i32((int) (long) (Long) v);
                case INT64, UINT64 -> i64((Long) v);
                case FLOAT32 -> i32(Float.floatToRawIntBits((Float) v));
                case FLOAT64 -> i64(Double.doubleToRawLongBits((Double) v));
                case BOOL -> i8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> {
                    GgufArray a = (GgufArray) v;
                    i32(a.elementType().id()).i64(a.items().size());
                    for (Object item : a.items()) {
                        value(a.elementType(), item);
                    }
                }
            }
        }

        byte[] bytes() { return out.toByteArray(); }
    }
}

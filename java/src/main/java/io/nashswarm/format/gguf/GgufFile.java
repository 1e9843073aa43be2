package io.nashswarm.format.gguf;

import io.nashswarm.format.FormatException;
import io.nashswarm.format.MappedFiles;
import io.nashswarm.format.RawTensor;
import io.nashswarm.format.SegmentReader;
import io.nashswarm.format.SegmentWriter;
import io.nashswarm.tensor.QuantType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed GGUF (v2 or v3, little-endian) header: typed metadata, tensor infos and where the
 * aligned data section starts. Every count, length and offset is checked against the file size
 * before it is used, so a corrupt file fails with a {@link FormatException}, never a huge
 * allocation or an out-of-bounds read.
 *
 * <pre>
 * "GGUF" u32 version, u64 tensor_count, u64 kv_count
 * kv_count × (string key, u32 value_type, value)        string = u64 length + UTF-8 bytes
 * tensor_count × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 * padding to general.alignment (default 32), then the data section
 * </pre>
 */
public final class GgufFile {
    public static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;
    /** name length + n_dims + one dimension + type + offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
    /** key length + value type + the smallest value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;

    private final Path path;
    private final int version;
    private final Map<String, GgufValue> entries;
    private final Map<String, Object> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long alignment;
    private final long dataOffset;

    private GgufFile(Path path, int version, Map<String, GgufValue> entries, Map<String, GgufTensorInfo> tensors,
                     long alignment, long dataOffset) {
        this.path = path;
        this.version = version;
        this.entries = Collections.unmodifiableMap(entries);
        Map<String, Object> plain = new LinkedHashMap<>();
        entries.forEach((k, v) -> plain.put(k, v.toJava()));
        this.metadata = Collections.unmodifiableMap(plain);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.alignment = alignment;
        this.dataOffset = dataOffset;
    }

    public Path path() { return path; }
    public int version() { return version; }
    /** Metadata as typed values (for copying into another GGUF file with the same types). */
    public Map<String, GgufValue> entries() { return entries; }
    /** Metadata as plain Java values, in file order (what {@code Tokenizers.fromGguf} takes). */
    public Map<String, Object> metadata() { return metadata; }
    /** Tensor infos by name, in file order. */
    public Map<String, GgufTensorInfo> tensors() { return tensors; }
    public Optional<GgufTensorInfo> tensor(String name) { return Optional.ofNullable(tensors.get(name)); }
    public long alignment() { return alignment; }
    /** Absolute file offset of the data section. */
    public long dataOffset() { return dataOffset; }

    /** Reads just the header; the file is mapped only while parsing. */
    public static GgufFile read(Path path) {
        try (Arena arena = Arena.ofConfined()) {
            return parse(path, MappedFiles.map(path, arena));
        }
    }

    /** Parses the header of {@code file} (the whole file's bytes, typically memory-mapped). */
    public static GgufFile parse(Path path, MemorySegment file) {
        SegmentReader in = new SegmentReader(path, file, 0);
        if (file.byteSize() < 4 || in.i32("the magic") != MAGIC) {
            throw new FormatException(path, "not a GGUF file (bad magic; expected \"GGUF\")");
        }
        int version = in.i32("the GGUF version");
        if (version == 1) {
            throw new FormatException(path, "GGUF version 1 is not supported (convert the model again with a current llama.cpp)");
        }
        if (version != 2 && version != 3) {
            boolean bigEndian = Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3;
            throw new FormatException(path, bigEndian ? "big-endian GGUF files are not supported" : "unsupported GGUF version " + Integer.toUnsignedString(version));
        }
        long tensorCount = in.i64("the tensor count");
        long kvCount = in.i64("the metadata count");
        if (kvCount < 0 || kvCount > in.remaining() / MIN_KV_BYTES) {
            throw new FormatException(path, "metadata count " + Long.toUnsignedString(kvCount) + " is more than the file could hold ("
                    + file.byteSize() + " bytes): truncated or corrupt");
        }
        if (tensorCount < 0 || tensorCount > (in.remaining() - kvCount * MIN_KV_BYTES) / MIN_TENSOR_INFO_BYTES) {
            throw new FormatException(path, "tensor count " + Long.toUnsignedString(tensorCount) + " is more than the file could hold ("
                    + file.byteSize() + " bytes): truncated or corrupt");
        }
        Map<String, GgufValue> entries = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(in, "metadata key " + i);
            int typeId = in.i32("the type of metadata " + key);
            GgufType type = GgufType.byId(typeId)
                    .orElseThrow(() -> new FormatException(path, "metadata " + key + " has unknown value type " + typeId));
            GgufValue value = new GgufValue(type, value(in, type, key, 0));
            if (entries.put(key, value) != null) {
                throw new FormatException(path, "metadata key " + key + " appears twice");
            }
        }
        long alignment = alignment(path, entries.get("general.alignment"));
        List<GgufTensorInfo> infos = new ArrayList<>();
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            GgufTensorInfo t = tensorInfo(in, i, alignment);
            if (byName.put(t.name(), t) != null) {
                throw new FormatException(path, "tensor " + t.name() + " appears twice");
            }
            infos.add(t);
        }
        long dataOffset = SegmentWriter.alignUp(in.position(), alignment);
        checkData(path, infos, dataOffset, file.byteSize());
        return new GgufFile(path, version, entries, byName, alignment, dataOffset);
    }

    /** The tensor's bytes, sliced (not copied) from {@code file}, which must be the file this header was parsed from. */
    public MemorySegment data(GgufTensorInfo t, MemorySegment file) {
        return file.asSlice(dataOffset + t.offset(), t.bytes());
    }

    /** Every tensor as a {@link RawTensor} (shape in ggml {@code ne} order). */
    public Map<String, RawTensor> rawTensors(MemorySegment file) {
        Map<String, RawTensor> out = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors.values()) {
            out.put(t.name(), new RawTensor(t.name(), t.type().label(), t.type(), t.ne().clone(), data(t, file), path));
        }
        return out;
    }

    private static String string(SegmentReader in, String what) {
        long n = in.i64("the length of " + what);
        if (n < 0 || n > in.remaining()) {
            throw new FormatException(in.file(), "the length of " + what + " (" + Long.toUnsignedString(n)
                    + " bytes) goes beyond the end of the file (" + in.size() + " bytes)");
        }
        return in.utf8(n, what);
    }

    private static Object value(SegmentReader in, GgufType type, String key, int depth) {
        return switch (type) {
            case UINT8 -> in.u8(key);
            case INT8 -> (int) in.i8(key);
            case UINT16 -> in.i16(key) & 0xFFFF;
            case INT16 -> (int) in.i16(key);
            case INT32 -> in.i32(key);
            case UINT32 -> in.i32(key) & 0xFFFFFFFFL;
            case INT64, UINT64 -> in.i64(key);
            case FLOAT32 -> in.f32(key);
            case FLOAT64 -> in.f64(key);
            case BOOL -> {
                int b = in.u8(key);
                if (b > 1) {
                    throw new FormatException(in.file(), "metadata " + key + " holds " + b + ", not a bool (0 or 1)");
                }
                yield b == 1;
            }
            case STRING -> string(in, "metadata " + key);
            case ARRAY -> array(in, key, depth);
        };
    }

    private static GgufArray array(SegmentReader in, String key, int depth) {
        if (depth >= MAX_NESTING) {
            throw new FormatException(in.file(), "metadata " + key + " nests arrays more than " + MAX_NESTING + " deep");
        }
        int typeId = in.i32("the element type of metadata " + key);
        GgufType type = GgufType.byId(typeId)
                .orElseThrow(() -> new FormatException(in.file(), "metadata " + key + " is an array of unknown type " + typeId));
        long n = in.i64("the length of metadata " + key);
        if (n < 0 || n > in.remaining() / type.minBytes() || n > Integer.MAX_VALUE - 16) {
            throw new FormatException(in.file(), "metadata " + key + " claims " + Long.toUnsignedString(n) + " " + type
                    + " elements, more than the file could hold (" + in.size() + " bytes)");
        }
        List<Object> items = new ArrayList<>((int) Math.min(n, 1 << 16));
        for (long i = 0; i < n; i++) {
            items.add(value(in, type, key, depth + 1));
        }
        return new GgufArray(type, items);
    }

    private static long alignment(Path path, GgufValue v) {
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        long a = switch (v.value()) {
            case Integer i -> i;
            case Long l -> l;
            default -> throw new FormatException(path, "general.alignment is a " + v.type() + ", not an integer");
        };
        if (a <= 0 || Long.bitCount(a) != 1 || a > (1 << 30)) {
            throw new FormatException(path, "general.alignment " + a + " is not a power of two");
        }
        return a;
    }

    private static GgufTensorInfo tensorInfo(SegmentReader in, long index, long alignment) {
        Path path = in.file();
        String name = string(in, "the name of tensor " + index);
        int nDims = in.i32("the dimension count of tensor " + name);
        if (nDims < 1 || nDims > MAX_DIMS) {
            throw new FormatException(path, "tensor " + name + " has " + Integer.toUnsignedString(nDims)
                    + " dimensions (GGUF allows 1 to " + MAX_DIMS + ")");
        }
        long[] ne = new long[nDims];
        for (int d = 0; d < nDims; d++) {
            ne[d] = in.i64("dimension " + d + " of tensor " + name);
            if (ne[d] < 0) {
                throw new FormatException(path, "tensor " + name + " has a negative dimension " + ne[d]);
            }
        }
        int typeId = in.i32("the type of tensor " + name);
        QuantType type = QuantType.byGgmlId(typeId).orElseThrow(() -> new FormatException(path, GgmlTypes.name(typeId)
                .map(n -> "unsupported type " + n + " in tensor " + name)
                .orElse("unknown ggml type " + Integer.toUnsignedString(typeId) + " in tensor " + name)));
        long offset = in.i64("the data offset of tensor " + name);
        if (offset < 0 || offset % alignment != 0) {
            throw new FormatException(path, "tensor " + name + " has data offset " + Long.toUnsignedString(offset)
                    + ", not a multiple of the alignment " + alignment);
        }
        if (ne[0] % type.blockSize() != 0) {
            throw new FormatException(path, "tensor " + name + " has " + ne[0] + " columns, not a multiple of the "
                    + type.label() + " block size " + type.blockSize());
        }
        long bytes;
        try {
            long count = 1;
            for (long d : ne) {
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count / type.blockSize(), (long) type.bytesPerBlock());
        } catch (ArithmeticException e) {
            throw new FormatException(path, "tensor " + name + " is impossibly large (ne = " + java.util.Arrays.toString(ne) + ")");
        }
        return new GgufTensorInfo(name, type, ne, offset, bytes);
    }

    private static void checkData(Path path, List<GgufTensorInfo> infos, long dataOffset, long fileSize) {
        for (GgufTensorInfo t : infos) {
            if (t.offset() > fileSize || t.bytes() > fileSize || dataOffset + t.offset() + t.bytes() > fileSize) {
                throw new FormatException(path, "tensor " + t.name() + " data (" + t.bytes() + " bytes at offset "
                        + Long.toUnsignedString(dataOffset + t.offset()) + ") lies outside the file (" + fileSize + " bytes): truncated?");
            }
        }
        List<GgufTensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        for (int i = 1; i < sorted.size(); i++) {
            GgufTensorInfo a = sorted.get(i - 1), b = sorted.get(i);
            if (b.offset() < a.offset() + a.bytes()) {
                throw new FormatException(path, "tensors " + a.name() + " and " + b.name() + " overlap in the data section");
            }
        }
    }
}

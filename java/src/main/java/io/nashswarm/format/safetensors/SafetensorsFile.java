package io.nashswarm.format.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.RawTensor;
import io.nashswarm.format.SegmentReader;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed safetensors header: an 8-byte little-endian length, that many bytes of JSON
 * ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}), then
 * the data, offsets relative to its start. Every length and offset is checked against the file
 * before any tensor is touched.
 */
public final class SafetensorsFile {
    /** Real headers are kilobytes to a few megabytes; anything near this is a corrupt length field. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    /** One tensor's header entry; {@code begin}/{@code end} are relative to {@link #dataStart()}. */
    public record Entry(String name, SafetensorsDtype dtype, long[] shape, long begin, long end) {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.dataStart = dataStart;
        this.entries = Collections.unmodifiableMap(entries);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    public Path path() { return path; }
    public long dataStart() { return dataStart; }
    public Map<String, Entry> entries() { return entries; }
    public Map<String, String> metadata() { return metadata; }

    /** Parses the header of {@code file} (the whole file's bytes, typically memory-mapped). */
    public static SafetensorsFile parse(Path path, MemorySegment file) {
        SegmentReader in = new SegmentReader(path, file, 0);
        long n = in.i64("the safetensors header length");
        if (n <= 0 || n > MAX_HEADER_BYTES) {
            throw new FormatException(path, "safetensors header length " + Long.toUnsignedString(n)
                    + " is not plausible (expected 1 byte to " + (MAX_HEADER_BYTES >> 20) + " MB)");
        }
        if (n > in.remaining()) {
            throw new FormatException(path, "safetensors header length " + n + " goes beyond the end of the file ("
                    + file.byteSize() + " bytes): truncated?");
        }
        JsonNode root;
        try {
            root = JSON.readTree(in.bytes(n, "the safetensors header"));
        } catch (JsonProcessingException e) {
            throw new FormatException(path, "safetensors header is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new FormatException(path, "cannot read the safetensors header: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(path, "safetensors header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataBytes = file.byteSize() - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) {
                    throw new FormatException(path, "__metadata__ is not a JSON object");
                }
                node.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.put(name, entry(path, name, node, dataBytes));
        }
        checkNoOverlap(path, entries.values());
        return new SafetensorsFile(path, dataStart, entries, metadata);
    }

    /** The tensors as {@link RawTensor}s, their data sliced (not copied) from {@code file}. */
    public Map<String, RawTensor> rawTensors(MemorySegment file) {
        Map<String, RawTensor> out = new LinkedHashMap<>();
        for (Entry e : entries.values()) {
            out.put(e.name(), new RawTensor(e.name(), e.dtype().name(), e.dtype().quantType().orElse(null), e.shape(),
                    file.asSlice(dataStart + e.begin(), e.end() - e.begin()), path));
        }
        return out;
    }

    private static Entry entry(Path path, String name, JsonNode node, long dataBytes) {
        if (!node.isObject()) {
            throw new FormatException(path, "tensor " + name + ": header entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new FormatException(path, "tensor " + name + ": missing dtype");
        }
        SafetensorsDtype dtype = SafetensorsDtype.byName(dtypeNode.asText())
                .orElseThrow(() -> new FormatException(path, "unknown dtype " + dtypeNode.asText() + " in tensor " + name));
        long[] shape = longs(path, name, node.get("shape"), "shape", -1);
        long[] offsets = longs(path, name, node.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0], end = offsets[1];
        long count = 1;
        try {
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            long need = Math.multiplyExact(count, (long) dtype.size());
            if (end < begin || end - begin != need) {
                throw new FormatException(path, "tensor " + name + ": data_offsets [" + begin + ", " + end + "] hold "
                        + (end - begin) + " bytes but " + dtype + " " + java.util.Arrays.toString(shape) + " needs " + need);
            }
        } catch (ArithmeticException e) {
            throw new FormatException(path, "tensor " + name + ": shape " + java.util.Arrays.toString(shape) + " is too large");
        }
        if (end > dataBytes) {
            throw new FormatException(path, "tensor " + name + ": data_offsets [" + begin + ", " + end
                    + "] go beyond the data section (" + dataBytes + " bytes): truncated?");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] longs(Path path, String tensor, JsonNode node, String field, int length) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new FormatException(path, "tensor " + tensor + ": " + field + " must be an array"
                    + (length >= 0 ? " of " + length + " integers" : " of integers"));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new FormatException(path, "tensor " + tensor + ": " + field + " holds " + v + ", not a non-negative integer");
            }
            out[i] = v.asLong();
        }
        return out;
    }

    private static void checkNoOverlap(Path path, Iterable<Entry> all) {
        List<Entry> sorted = new ArrayList<>();
        all.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry prev = null;
        for (Entry e : sorted) {
            if (prev != null && e.begin() < prev.end() && e.end() > e.begin()) {
                throw new FormatException(path, "tensors " + prev.name() + " and " + e.name() + " overlap (data_offsets ["
                        + prev.begin() + ", " + prev.end() + "] and [" + e.begin() + ", " + e.end() + "])");
            }
            if (e.end() > e.begin()) {
                prev = e;
            }
        }
    }
}

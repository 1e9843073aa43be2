package io.nashswarm.format.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.format.AtomicFile;
import io.nashswarm.format.SegmentWriter;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file: tensors in the order added, packed back to back, header padded with
 * spaces to a multiple of 8 bytes (as the reference library does). Written through a temporary
 * file and an atomic rename.
 */
public final class SafetensorsWriter {
    private record Pending(String name, SafetensorsDtype dtype, long[] shape, MemorySegment data) {}

    private final List<Pending> tensors = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a tensor; {@code data} must hold exactly the bytes {@code dtype} and {@code shape} need, little-endian. */
    public SafetensorsWriter add(String name, SafetensorsDtype dtype, long[] shape, MemorySegment data) {
        long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (data.byteSize() != count * dtype.size()) {
            throw new IllegalArgumentException(name + ": " + dtype + " " + Arrays.toString(shape) + " needs "
                    + count * dtype.size() + " bytes, got " + data.byteSize());
        }
        if (name.equals("__metadata__") || tensors.stream().anyMatch(t -> t.name.equals(name))) {
            throw new IllegalArgumentException("tensor name " + name + " is reserved or already used");
        }
        tensors.add(new Pending(name, dtype, shape.clone(), data));
        return this;
    }

    public SafetensorsWriter add(String name, SafetensorsDtype dtype, long[] shape, byte[] data) {
        return add(name, dtype, shape, MemorySegment.ofArray(data));
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path target) {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Pending t : tensors) {
            long end = offset + t.data.byteSize();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype.name());
            entry.put("shape", t.shape);
            entry.put("data_offsets", new long[] {offset, end});
            header.put(t.name, entry);
            offset = end;
        }
        byte[] json;
        try {
            json = new ObjectMapper().writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (int) SegmentWriter.alignUp(json.length, 8);
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        AtomicFile.write(target, out -> {
            SegmentWriter.writeFully(out, head);
            for (Pending t : tensors) {
                SegmentWriter.write(out, t.data);
            }
        });
    }
}

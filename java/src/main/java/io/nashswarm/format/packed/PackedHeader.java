package io.nashswarm.format.packed;

import io.nashswarm.format.FormatException;
import io.nashswarm.format.MappedFiles;
import io.nashswarm.model.ModelConfig;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The packed file's header: written by {@link PackedModelWriter}, read and checked against the file by
 * {@link #read}. Reading validates everything a loader relies on before any section is touched (see
 * {@link HeaderChecks}); the bytes are {@link HeaderJson}'s, the config's encoding {@link ConfigJson}'s.
 *
 * @param tokenizer GGUF tokenizer metadata (plain Java values), or null when the file has none
 * @param headerBytes length of the JSON text in the file (0 for a header not yet written)
 */
public record PackedHeader(ModelConfig config, Provenance provenance, Map<String, Object> tokenizer,
                           List<TensorRecord> tensors, long headerBytes) {
    public PackedHeader {
        tensors = List.copyOf(tensors);
    }

    /** Start of the data region: the preamble and header, rounded up to the alignment. */
    public long dataOffset() {
        return PackedFormat.alignUp(PackedFormat.PREAMBLE_BYTES + headerBytes);
    }

    /** Total bytes of all sections. */
    public long sectionBytes() {
        return tensors.stream().mapToLong(TensorRecord::bytes).sum();
    }

    public TensorRecord tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElse(null);
    }

    /** The header as compact UTF-8 JSON. */
    byte[] toJson() {
        return HeaderJson.write(this);
    }

    /** Reads and checks the header of a packed file (mapped only while reading). */
    public static PackedHeader read(Path path) {
        try (Arena arena = Arena.ofConfined()) {
            return read(path, MappedFiles.map(path, arena));
        }
    }

    /**
     * Reads and checks the header of the packed file whose whole content is {@code file}.
     *
     * @throws FormatException naming {@code path} and the problem
     */
    public static PackedHeader read(Path path, MemorySegment file) {
        return HeaderJson.read(path, file);
    }
}

package io.nashswarm.format.packed;

import io.nashswarm.EngineException;
import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.MappedFiles;
import io.nashswarm.format.TensorEntry;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.tokenizer.GgufTokenizerMetadata;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.tokenizer.Tokenizers;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Loads a packed model file: maps it once, checks the header ({@link PackedHeader#read}) and every
 * section's CRC32C, then wraps slices of the mapping as matrices — nothing is expanded or copied except
 * the small norm and bias vectors. The tokenizer stored in the header comes with the weights.
 */
public final class PackedModelLoader {
    public static final String FORMAT = PackedFormat.FORMAT;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private PackedModelLoader() {}

    /** @param arena owns the mapping; handed to the returned weights (closing the model unmaps the file) */
    public static LoadedModel load(Path path, Arena arena) {
        MemorySegment file = MappedFiles.map(path, arena);
        PackedHeader h = PackedHeader.read(path, file);
        MemorySegment data = file.asSlice(h.dataOffset());
        verifyChecksums(path, h, data);

        Map<String, WeightMatrix> matrices = new LinkedHashMap<>();
        Map<String, float[]> vectors = new LinkedHashMap<>();
        List<TensorEntry> entries = new ArrayList<>();
        for (TensorRecord t : h.tensors()) {
            if (t.matrix()) {
                matrices.put(t.name(), matrix(path, t, data));
            } else {
                float[] v = new float[t.rows()];
                MemorySegment.copy(slice(data, t.sections().getFirst()), F32, 0, v, 0, v.length);
                vectors.put(t.name(), v);
            }
            entries.add(new TensorEntry(t.name(), t.name(), t.type().label(), t.shape(), t.bytes(), path,
                    t.layout() == Layout.IN_OUT));
        }
        if (h.config().tiedEmbeddings()) {
            matrices.put(CanonicalTensors.OUTPUT, matrices.get(CanonicalTensors.TOKEN_EMBD));
        }
        Optional<Tokenizer> tokenizer = h.tokenizer() == null ? Optional.empty()
                : Optional.of(Tokenizers.fromGguf(h.tokenizer(), path));
        ModelWeights weights = new ModelWeights(h.config(), matrices, vectors, arena, path.toString());
        return new LoadedModel(weights, tokenizer, FORMAT, List.of(path), entries, metadata(h, file.byteSize()));
    }

    /**
     * Every section's CRC32C over the mapped bytes, a section per task on every thread (reading a 1B model's file
     * took about a second on one); a mismatch names the first such tensor and section in file order.
     */
    static void verifyChecksums(Path path, PackedHeader h, MemorySegment data) {
        List<TensorRecord> owner = new ArrayList<>();
        List<TensorRecord.Section> sections = new ArrayList<>();
        for (TensorRecord t : h.tensors()) {
            for (TensorRecord.Section s : t.sections()) {
                owner.add(t);
                sections.add(s);
            }
        }
        int[] crc = new int[sections.size()];
        Parallel.forEachTask(sections.size(), i -> crc[i] = PackedFormat.crc32c(slice(data, sections.get(i))));
        for (int i = 0; i < crc.length; i++) {
            TensorRecord.Section s = sections.get(i);
            if (crc[i] != s.crc32c()) {
                throw new FormatException(path, "checksum mismatch in tensor " + owner.get(i).name() + ", section '" + s.name()
                        + "': stored crc32c " + PackedFormat.hex(s.crc32c()) + ", bytes give " + PackedFormat.hex(crc[i])
                        + " (the file is corrupt)");
            }
        }
    }

    private static WeightMatrix matrix(Path path, TensorRecord t, MemorySegment data) {
        try {
            if (!t.type().isPacked()) {
                return Matrices.of(t.type(), slice(data, t.sections().getFirst()), t.rows(), t.cols(), t.layout());
            }
            Map<String, MemorySegment> sections = new LinkedHashMap<>();
            for (TensorRecord.Section s : t.sections()) {
                sections.put(s.name(), slice(data, s));
            }
            PackedMatrix p = Matrices.packed(t.type(), t.rows(), t.storedCols(), t.spec(), sections);
            if (p.counts() != null && !p.counts().equals(t.mix())) {
                throw new FormatException(path, "tensor " + t.name() + ": its width map counts " + p.counts()
                        + " but the header says " + t.mix());
            }
            return t.padded() ? PaddedMatrix.of(p, t.cols()) : p;
        } catch (FormatException e) {
            throw e;
        } catch (EngineException | IllegalArgumentException e) {
            throw new FormatException(path, "tensor " + t.name() + ": " + e.getMessage());
        }
    }

    private static MemorySegment slice(MemorySegment data, TensorRecord.Section s) {
        return data.asSlice(s.offset(), s.bytes());
    }

    /** What inspect shows beside the tensors: the provenance, the header and padding sizes, the tokenizer. */
    private static Map<String, Object> metadata(PackedHeader h, long fileBytes) {
        Map<String, Object> m = new LinkedHashMap<>();
        Provenance p = h.provenance();
        put(m, "provenance.recipe", p.recipe());
        if (p.recipeParams() != null && !p.recipeParams().isEmpty()) {
            m.put("provenance.recipe_params", p.recipeParams());
        }
        put(m, "provenance.source_path", p.sourcePath());
        put(m, "provenance.source_sha256", p.sourceSha256());
        put(m, "provenance.calibration", p.calibration());
        put(m, "provenance.created_by", p.createdBy());
        m.put("packed.format_version", PackedFormat.VERSION);
        m.put("packed.header_bytes", h.headerBytes());
        m.put("packed.data_offset", h.dataOffset());
        m.put("packed.section_bytes", h.sectionBytes());
        m.put("packed.padding_bytes", fileBytes - PackedFormat.PREAMBLE_BYTES - h.headerBytes() - h.sectionBytes());
        m.put("packed.crc32c", "verified (" + h.tensors().stream().mapToInt(t -> t.sections().size()).sum() + " sections)");
        if (h.tokenizer() != null) {
            Object tokens = h.tokenizer().get(GgufTokenizerMetadata.TOKENS);
            m.put("tokenizer", h.tokenizer().get(GgufTokenizerMetadata.MODEL)
                    + (tokens instanceof List<?> l ? ", " + l.size() + " tokens" : ""));
        }
        return m;
    }

    private static void put(Map<String, Object> m, String key, Object v) {
        if (v != null) {
            m.put(key, v);
        }
    }
}

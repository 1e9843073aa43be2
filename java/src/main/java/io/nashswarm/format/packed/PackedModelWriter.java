package io.nashswarm.format.packed;

import io.nashswarm.EngineException;
import io.nashswarm.format.AtomicFile;
import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.MatrixStorage;
import io.nashswarm.format.SegmentWriter;
import io.nashswarm.format.TensorSpec;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.tokenizer.GgufTokenizerMetadata;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Writes the engine's own packed, memory-mappable model file (format: see the package documentation).
 * Sections are streamed from the matrices' own memory (mapped or off-heap) in chunks, their CRC32C
 * computed on the way; the header, whose checksums have a fixed width, is filled in last. The file
 * appears atomically (temporary file in the same directory, then a rename).
 */
public final class PackedModelWriter {
    private static final long CHUNK = 16L << 20;

    private PackedModelWriter() {}

    /** A stored tensor waiting to be written: its header record (checksums still 0) and its bytes per section. */
    private record Pending(TensorRecord record, List<MemorySegment> data) {}

    /**
     * Writes every matrix in its stored form (F32/F16/BF16/Q8_0/Q4_0 or any packed type, as its
     * sections), the vectors, the config, the tokenizer (may be null) and the provenance, to a
     * temporary file beside {@code target}, then renames it into place. {@code progress} advances by
     * one per stored tensor ({@link #tensorCount}).
     *
     * @throws EngineException when a tensor is missing, misshapen or of a kind that cannot be stored,
     *                         when the tokenizer cannot be written as GGUF metadata, or on I/O errors
     */
    public static void write(ModelWeights weights, Tokenizer tokenizer, Provenance provenance, Path target, Progress progress) {
        Objects.requireNonNull(provenance, "provenance");
        ModelConfig config = CanonicalTensors.storedConfig(weights);
        Map<String, Object> tok = tokenizer == null ? null : GgufTokenizerMetadata.of(tokenizer);
        List<Pending> pending = layOut(weights, config);
        PackedHeader draft = new PackedHeader(config, provenance, tok, pending.stream().map(Pending::record).toList(), 0);
        long headerBytes = draft.toJson().length;
        long dataOffset = PackedFormat.alignUp(PackedFormat.PREAMBLE_BYTES + headerBytes);
        AtomicFile.write(target, out -> {
            List<TensorRecord> done = new ArrayList<>();
            long end = 0;
            out.position(dataOffset);
            for (Pending p : pending) {
                progress.message(p.record().name());
                List<TensorRecord.Section> sections = new ArrayList<>();
                for (int i = 0; i < p.data().size(); i++) {
                    TensorRecord.Section s = p.record().sections().get(i);
                    SegmentWriter.zeros(out, s.offset() - end);
                    int crc = writeWithCrc(out, p.data().get(i));
                    sections.add(new TensorRecord.Section(s.name(), s.offset(), s.bytes(), crc));
                    end = s.offset() + s.bytes();
                }
                done.add(p.record().withSections(sections));
                progress.step(1);
            }
            byte[] header = new PackedHeader(config, provenance, tok, done, headerBytes).toJson();
            if (header.length != headerBytes) {
                throw new IllegalStateException("packed header changed length from " + headerBytes + " to " + header.length);
            }
            ByteBuffer pre = ByteBuffer.allocate(PackedFormat.PREAMBLE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            pre.putInt(PackedFormat.MAGIC).putInt(PackedFormat.VERSION).putLong(headerBytes).flip();
            out.position(0);
            SegmentWriter.writeFully(out, pre);
            SegmentWriter.writeFully(out, ByteBuffer.wrap(header));
            SegmentWriter.zeros(out, dataOffset - PackedFormat.PREAMBLE_BYTES - headerBytes);
        });
    }

    /** How many tensors {@link #write} stores (and steps its progress by): the canonical tensors, a tied head once. */
    public static int tensorCount(ModelWeights weights) {
        return CanonicalTensors.of(CanonicalTensors.storedConfig(weights)).size();
    }

    /** Every canonical tensor with its sections at 64-byte aligned offsets, in canonical order. */
    private static List<Pending> layOut(ModelWeights weights, ModelConfig config) {
        List<Pending> out = new ArrayList<>();
        Set<String> stored = new HashSet<>();
        long offset = 0;
        for (TensorSpec spec : CanonicalTensors.of(config)) {
            String name = spec.name();
            stored.add(name);
            TensorRecord record;
            List<MemorySegment> data = new ArrayList<>();
            List<TensorRecord.Section> sections = new ArrayList<>();
            if (spec.matrix()) {
                WeightMatrix m = weights.matrix(name);
                if (m.rows() != spec.rows() || m.cols() != spec.cols()) {
                    throw new EngineException("tensor " + name + " is " + m.rows() + "x" + m.cols() + " but the config implies "
                            + spec.rows() + "x" + spec.cols());
                }
                // A padded matrix is stored as its padded rows; the header keeps both lengths.
                WeightMatrix asStored = m instanceof PaddedMatrix p ? p.stored() : m;
                MatrixStorage st = MatrixStorage.of(name, asStored);
                for (var e : st.sections().entrySet()) {
                    offset = PackedFormat.alignUp(offset);
                    sections.add(new TensorRecord.Section(e.getKey(), offset, e.getValue().byteSize(), 0));
                    data.add(e.getValue());
                    offset += e.getValue().byteSize();
                }
                record = new TensorRecord(name, st.type(), true, spec.rows(), spec.cols(), asStored.cols(), st.layout(), st.spec(), st.mix(),
                        sections);
            } else {
                float[] v = weights.vector(name);
                if (v.length != spec.rows()) {
                    throw new EngineException("vector " + name + " has " + v.length + " elements but the config implies " + spec.rows());
                }
                offset = PackedFormat.alignUp(offset);
                sections.add(new TensorRecord.Section(MatrixStorage.DATA, offset, 4L * v.length, 0));
                data.add(MemorySegment.ofArray(littleEndian(v)));
                offset += 4L * v.length;
                record = new TensorRecord(name, QuantType.F32, false, v.length, 1, 1, Layout.OUT_IN, null, null, sections);
            }
            out.add(new Pending(record, data));
        }
        for (String name : weights.matrices().keySet()) {
            boolean tiedHead = name.equals(CanonicalTensors.OUTPUT) && config.tiedEmbeddings();
            if (!stored.contains(name) && !tiedHead) {
                throw new EngineException("tensor " + name + " is not part of a " + config.architecture().name().toLowerCase() + " model");
            }
        }
        for (String name : weights.vectors().keySet()) {
            if (!stored.contains(name)) {
                throw new EngineException("tensor " + name + " is not part of a " + config.architecture().name().toLowerCase() + " model");
            }
        }
        return out;
    }

    /** Streams a section in chunks (never a whole-model copy), returning its CRC32C. */
    private static int writeWithCrc(FileChannel out, MemorySegment data) throws IOException {
        CRC32C crc = new CRC32C();
        for (long off = 0; off < data.byteSize(); off += CHUNK) {
            ByteBuffer b = data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer();
            crc.update(b.duplicate());
            SegmentWriter.writeFully(out, b);
        }
        return (int) crc.getValue();
    }

    private static byte[] littleEndian(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }
}

package io.nashswarm.format.packed;

import io.nashswarm.format.MappedFiles;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Measured, not computed: the size of written files (Files.size) against the sum of the matrices'
 * storageBytes and against the bits/weight QuantType predicts. The only difference allowed is the
 * 16-byte preamble, the JSON header and the alignment padding (under 64 bytes per section).
 */
class PackedFileSizeTest {
    // dim 128, SwiGLU 384, 2 layers, vocab 1000: 655,360 matrix weights, every row a multiple of 64.
    static final ModelConfig CONFIG = new ModelConfig(Architecture.LLAMA, 128, 384, 2, 4, 4, 1000, 64, 1e-5f, 10000f,
            RopeStyle.INTERLEAVED, false);
    /** The header is ~170 bytes per tensor plus config and provenance; no tokenizer here. */
    static final long HEADER_BOUND = 8192;

    @TempDir
    Path dir;

    record Measured(String label, long weights, long storage, long predicted, long vectorBytes, long file, long header,
                    long padding, int sections) {
        double matrixBits() { return 8.0 * storage / weights; }
        double fileBits() { return 8.0 * file / weights; }
    }

    private Measured measure(String label, Function<WeightMatrix, WeightMatrix> recipe) throws IOException {
        ModelWeights w = TestModels.map(TestModels.random(CONFIG, 11), (name, m) -> recipe.apply(m));
        Path file = dir.resolve(label.replaceAll("\\W+", "_") + ".nsq");
        PackedModelWriter.write(w, null, PackedModelRoundTripTest.provenance(), file, Progress.none());
        long weights = 0, storage = 0, predicted = 0;
        for (WeightMatrix m : w.distinctMatrices()) {
            weights += (long) m.rows() * m.cols();
            storage += m.storageBytes();
            predicted += predictedBytes(m);
        }
        long vectorBytes = w.storageBytes() - storage;
        PackedHeader h = PackedModelRoundTripTest.header(file);
        int sections = h.tensors().stream().mapToInt(t -> t.sections().size()).sum();
        long fileBytes = Files.size(file);
        long padding = fileBytes - PackedFormat.PREAMBLE_BYTES - h.headerBytes() - storage - vectorBytes;
        return new Measured(label, weights, storage, predicted, vectorBytes, fileBytes, h.headerBytes(), padding, sections);
    }

    /** What the QuantType table predicts for the matrix, from its type, shape and spec alone (mixed: and its counts). */
    private static long predictedBytes(WeightMatrix m) {
        QuantType t = m.type();
        if (!t.isPacked()) {
            return Math.round(t.bitsPerWeight() * m.rows() * m.cols() / 8);
        }
        GroupSpec spec = ((PackedMatrix) m).spec();
        if (t != QuantType.MIXED && spec.equals(GroupSpec.symmetric(GroupSpec.DEFAULT_GROUP))) {
            return Math.round(t.bitsPerWeight() * m.rows() * m.cols() / 8); // the table's bits/weight is for g64 sym
        }
        return t.bytesFor(m.rows(), m.cols(), spec, m instanceof MixedGroupMatrix x ? x.counts() : null);
    }

    @Test
    void fileSizeIsStorageBytesPlusHeaderAndPaddingOnly() throws IOException {
        Measured[] all = {
                measure("f32", m -> m),
                measure("int4 g64 sym", m -> TestModels.rtn(m, QuantType.INT4, GroupSpec.symmetric(64))),
                measure("mixed g64 ~3-bit", m -> TestModels.mixed(m, GroupSpec.symmetric(64), 0, 5)),
        };
        System.out.printf("%-18s %9s %11s %11s %8s %11s %7s %7s %9s%n", "model", "weights", "storage B", "predicted B",
                "bits/w", "file B", "header", "padding", "file b/w");
        for (Measured m : all) {
            System.out.printf("%-18s %,9d %,11d %,11d %8.4f %,11d %,7d %7d %9.4f%n", m.label(), m.weights(), m.storage(),
                    m.predicted(), m.matrixBits(), m.file(), m.header(), m.padding(), m.fileBits());
            assertEquals(m.predicted(), m.storage(), m.label() + ": storageBytes = the QuantType prediction");
            assertEquals(4L * (2 * 2 * 128 + 128), m.vectorBytes(), m.label() + ": norms are F32");
            assertTrue(m.padding() >= 0 && m.padding() < 64L * (m.sections() + 1), m.label() + ": padding " + m.padding());
            assertTrue(m.header() < HEADER_BOUND, m.label() + ": header " + m.header());
            assertEquals(m.file(), 16 + m.header() + m.padding() + m.storage() + m.vectorBytes());
        }
        assertEquals(32.0, all[0].matrixBits(), 0);
        assertEquals(4.25, all[1].matrixBits(), 0);
        // mixed, by hand from its counts: code bits + a 16-bit scale and a 2-bit map entry per group of 64
        ModelWeights mixed = TestModels.map(TestModels.random(CONFIG, 11), (n, m) -> TestModels.mixed(m, GroupSpec.symmetric(64), 0, 5));
        double bits = 0, weights = 0;
        for (WeightMatrix m : mixed.distinctMatrices()) {
            var c = ((MixedGroupMatrix) m).counts();
            bits += (2.0 * c.groups2() + 4.0 * c.groups4() + 8.0 * c.groups8()) * 64 + 18.0 * c.groups();
            weights += (double) m.rows() * m.cols();
        }
        assertEquals(bits / weights, all[2].matrixBits(), 1e-3);
        System.out.printf("mixed: %.4f code bits/weight + %.4f scale and map bits/weight%n",
                (bits - 18.0 * weights / 64) / weights, 18.0 / 64);
    }

    /** Information only (never asserted): CRC32C throughput over a mapped file, as the loader checks it. */
    @Test
    void crc32cCost() throws IOException {
        Measured f32 = measure("crc", m -> m);
        Path file = dir.resolve("crc.nsq");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = MappedFiles.map(file, a);
            int sink = 0;
            long bytes = 0, t0 = System.nanoTime();
            while (bytes < (256L << 20)) {
                sink += PackedFormat.crc32c(data);
                bytes += data.byteSize();
            }
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.printf("CRC32C over a mapped %,d-byte file: %.1f ms per 100 MB (%.2f GB/s) [%d]%n",
                    f32.file(), ms * 100e6 / bytes, bytes / ms / 1e6, sink & 1);
        }
    }
}

package io.nashswarm.format;

import io.nashswarm.TestData;
import io.nashswarm.format.llama2c.Llama2cLoader;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class Llama2cLoaderTest {
    @TempDir
    Path dir;

    /** Writes a llama2.c checkpoint in run.c's order; returns each tensor's values by canonical name (row-major [out][in]). */
    static Map<String, float[]> write(Path file, int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen,
                                      boolean shared, long seed) {
        Random rng = new Random(seed);
        int kvDim = dim / heads * kvHeads;
        int headSize = dim / heads;
        Map<String, float[]> out = new LinkedHashMap<>();
        ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(dim).putInt(hidden).putInt(layers).putInt(heads).putInt(kvHeads).putInt(shared ? vocab : -vocab).putInt(seqLen);
        ByteBuffer body = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        java.util.function.BiConsumer<String, Integer> put = (name, n) -> {
            float[] v = Fixtures.random(rng, n);
            for (float f : v) {
                body.putFloat(f);
            }
            if (name != null) {
                out.put(name, v);
            }
        };
        put.accept("token_embd.weight", vocab * dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".attn_norm.weight", dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".attn_q.weight", dim * dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".attn_k.weight", kvDim * dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".attn_v.weight", kvDim * dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".attn_output.weight", dim * dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".ffn_norm.weight", dim);
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".ffn_gate.weight", hidden * dim); // w1
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".ffn_down.weight", dim * hidden); // w2
        for (int l = 0; l < layers; l++) put.accept("blk." + l + ".ffn_up.weight", hidden * dim);   // w3
        put.accept("output_norm.weight", dim);
        put.accept(null, seqLen * headSize / 2); // freq_cis_real
        put.accept(null, seqLen * headSize / 2); // freq_cis_imag
        if (!shared) {
            put.accept("output.weight", vocab * dim);
        }
        byte[] all = new byte[28 + body.position()];
        System.arraycopy(b.array(), 0, all, 0, 28);
        System.arraycopy(body.array(), 0, all, 28, body.position());
        Fixtures.writeBytes(file, all);
        return out;
    }

    private static void assertAll(ModelWeights w, Map<String, float[]> written) {
        ModelConfig c = w.config();
        for (var e : written.entrySet()) {
            String name = e.getKey();
            if (name.endsWith("norm.weight")) {
                Fixtures.assertVector(e.getValue(), w.vector(name));
            } else {
                var m = w.matrix(name);
                assertEquals(QuantType.F32, m.type());
                Fixtures.assertRowMajor(e.getValue(), m.rows(), m.cols(), m);
            }
        }
        assertEquals(c.kvDim(), w.matrix("blk.0.attn_k.weight").rows());
        assertEquals(c.hiddenDim(), w.matrix("blk.0.ffn_up.weight").rows());
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void gqaCheckpointWithSharedOrSeparateClassifier(boolean shared) {
        Path file = dir.resolve("model.bin");
        Map<String, float[]> written = write(file, 16, 24, 3, 4, 2, 7, 9, shared, 42);
        try (LoadedModel m = ModelLoader.load(file, null)) {
            assertEquals(new ModelConfig(Architecture.LLAMA, 16, 24, 3, 4, 2, 7, 9, 1e-5f, 10000f, RopeStyle.INTERLEAVED, shared),
                    m.weights().config());
            assertEquals("llama2.c", m.format());
            assertAll(m.weights(), written);
            if (shared) {
                assertSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
            } else {
                assertNotSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
            }
            assertTrue(m.tokenizer().isEmpty(), "no tokenizer beside it");
            Fixtures.assertMatvec(written.get("blk.2.ffn_down.weight"), false, 16, 24, m.weights().matrix("blk.2.ffn_down.weight"), new Random(1));
        }
    }

    @Test
    void multiHeadCheckpoint() {
        Path file = dir.resolve("mha.bin");
        Map<String, float[]> written = write(file, 8, 12, 2, 2, 2, 5, 4, true, 7);
        try (LoadedModel m = ModelLoader.loadWeights(file)) {
            assertAll(m.weights(), written);
            assertEquals(m.weights().config().dim(), m.weights().matrix("blk.1.attn_v.weight").rows());
        }
    }

    @Test
    void sizeMismatchIsReportedWithTheHeader() {
        Path file = dir.resolve("short.bin");
        write(file, 8, 12, 2, 2, 2, 5, 4, true, 7);
        byte[] b = Fixtures.readAll(file);
        Fixtures.writeBytes(file, java.util.Arrays.copyOf(b, b.length - 4));
        Fixtures.assertFormatError(file, "implies " + b.length + " bytes but the file has " + (b.length - 4) + " (truncated?)",
                () -> ModelLoader.load(file, null));
        Fixtures.writeBytes(file, java.util.Arrays.copyOf(b, b.length + 8));
        Fixtures.assertFormatError(file, "extra bytes", () -> ModelLoader.load(file, null));
    }

    @Test
    void sizeOfTheOtherClassifierLayoutGetsAHint() {
        Path file = dir.resolve("sep.bin");
        write(file, 8, 12, 2, 2, 2, 5, 4, false, 7);
        byte[] b = Fixtures.readAll(file);
        b[20] = 5; // make vocab_size positive (shared) while the file still holds wcls
        b[21] = b[22] = b[23] = 0;
        Fixtures.writeBytes(file, b);
        Fixtures.assertFormatError(file, "fits a separate classifier", () -> ModelLoader.load(file, null));
    }

    @Test
    void nonsenseHeaderIsNotAModel() {
        Path file = dir.resolve("noise.bin");
        byte[] b = new byte[4096];
        new Random(3).nextBytes(b);
        b[3] = (byte) 0x80; // dim negative
        Fixtures.writeBytes(file, b);
        Fixtures.assertFormatError(file, "not a recognised model (expected a Hugging Face directory, a GGUF file, a llama2.c checkpoint or a packed .nsq file)",
                () -> ModelLoader.load(file, null));
        Fixtures.assertFormatError(file, "not a plausible llama2.c header (dim ", () -> {
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                Llama2cLoader.load(file, arena);
            }
        });
    }

    @Test
    void tinyFileIsNotAModel() {
        Path file = dir.resolve("tiny.bin");
        Fixtures.writeBytes(file, new byte[] {1, 2, 3});
        Fixtures.assertFormatError(file, "not a recognised model", () -> ModelLoader.load(file, null));
    }

    // ---- the real checkpoints (header values from ../shared/data/README.md) ----

    private static float[] floatsAt(Path file, long offset, int n) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, offset);
            b.flip();
            float[] out = new float[n];
            b.asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void realAidreams260K() {
        Path file = TestData.require("models/aidreams260K/aidreams260K.bin");
        try (LoadedModel m = ModelLoader.loadWeights(file)) {
            ModelConfig c = m.weights().config();
            assertEquals(new ModelConfig(Architecture.LLAMA, 64, 172, 4, 4, 4, 512, 128, 1e-5f, 10000f, RopeStyle.INTERLEAVED, true), c);
            // wq of layer 2 starts after header, embeddings, 4 rms_att rows and two wq layers.
            long wq2 = 28 + 4L * (512 * 64 + 4 * 64 + 2 * 64 * 64);
            Fixtures.assertRowMajor(floatsAt(file, wq2, 64 * 64), 64, 64, m.weights().matrix("blk.2.attn_q.weight"));
            Fixtures.assertRowMajor(floatsAt(file, 28, 512 * 64), 512, 64, m.weights().matrix("output.weight"));
        }
    }

    @Test
    void realStories260KWithGroupedQueryAttention() {
        Path file = TestData.require("models/stories260K/stories260K.bin");
        try (LoadedModel m = ModelLoader.load(file, null)) {
            ModelConfig c = m.weights().config();
            assertEquals(new ModelConfig(Architecture.LLAMA, 64, 172, 5, 8, 4, 512, 512, 1e-5f, 10000f, RopeStyle.INTERLEAVED, true), c);
            assertEquals(32, c.kvDim());
            assertTrue(m.tokenizer().isEmpty(), "stories260K has no tokenizer beside it");
            // wv of layer 4: after embeddings, rms_att (5×64), wq (5×64×64), wk (5×32×64), wv layers 0..3.
            long wv4 = 28 + 4L * (512 * 64 + 5 * 64 + 5 * 64 * 64 + 5 * 32 * 64 + 4 * 32 * 64);
            Fixtures.assertRowMajor(floatsAt(file, wv4, 32 * 64), 32, 64, m.weights().matrix("blk.4.attn_v.weight"));
            // the final norm sits right before the RoPE tables at the end: file size − 2·(512·8/2) floats − 64 floats
            long finalNorm = 1056540 - 4L * (2 * 512 * 8 / 2) - 4L * 64;
            Fixtures.assertVector(floatsAt(file, finalNorm, 64), m.weights().vector("output_norm.weight"));
        }
    }
}

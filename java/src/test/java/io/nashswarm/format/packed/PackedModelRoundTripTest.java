package io.nashswarm.format.packed;

import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelFormat;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Write then load: every storage type bit-identical, the same logits, config, tokenizer and provenance. */
class PackedModelRoundTripTest {
    @TempDir
    Path dir;

    static Provenance provenance() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("group", 32);
        params.put("bpw", 3.25);
        params.put("split", List.of(10, 20, 70));
        params.put("rule", "minmax");
        params.put("nested", Map.of("symmetric", true));
        return new Provenance("every-type", params, "/models/src.bin", "ab".repeat(32), null, "nashswarm 0.1.0 (test)");
    }

    /** Counts steps so the test can check progress per tensor. */
    static final class Steps implements Progress {
        long steps;
        final List<String> messages = new ArrayList<>();
        @Override public void step(long n) { steps += n; }
        @Override public void message(String text) { messages.add(text); }
        @Override public void close() {}
    }

    @Test
    void everyStorageTypeRoundTripsBitIdentically() {
        ModelWeights original = TestModels.everyRecipe(TestModels.random(TestModels.LLAMA_EVERY_TYPE, 1));
        Set<String> labels = new HashSet<>();
        original.matrices().keySet().forEach(n -> labels.add(TestModels.recipeOf(original, n)));
        assertEquals(TestModels.RECIPES.size(), labels.size(), "every recipe is used once");
        Tokenizer tok = TestModels.tinyTokenizer(dir);
        Path file = dir.resolve("every.bin"); // recognised by content, not by the extension
        Steps steps = new Steps();
        PackedModelWriter.write(original, tok, provenance(), file, steps);
        assertEquals(PackedModelWriter.tensorCount(original), steps.steps);
        assertEquals(CanonicalTensors.of(TestModels.LLAMA_EVERY_TYPE).size(), steps.steps);
        assertEquals(CanonicalTensors.TOKEN_EMBD, steps.messages.getFirst());
        assertEquals(ModelFormat.PACKED, ModelFormat.detect(file).orElseThrow());

        try (LoadedModel m = ModelLoader.load(file, null)) {
            assertEquals(PackedFormat.FORMAT, m.format());
            ModelWeights loaded = m.weights();
            assertEquals(original.config(), loaded.config());
            for (String name : original.matrices().keySet()) {
                WeightMatrix a = original.matrix(name), b = loaded.matrix(name);
                String what = name + " (" + TestModels.recipeOf(original, name) + ")";
                assertEquals(a.type(), b.type(), what);
                assertEquals(a.getClass(), b.getClass(), what);
                assertEquals(a.storageBytes(), b.storageBytes(), what);
                assertTrue(TestModels.sameBytes(name, a, b), what + ": section bytes differ");
                if (a instanceof PackedMatrix pa) {
                    assertEquals(pa.spec(), ((PackedMatrix) b).spec(), what);
                }
                if (a instanceof MixedGroupMatrix xa) {
                    assertEquals(xa.counts(), ((MixedGroupMatrix) b).counts(), what);
                }
                assertSameRows(a, b, what);
                // storageBytes of the loaded matrix is exactly what the file holds for it
                assertEquals(b.storageBytes(), m.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow().bytes(), what);
            }
            assertEquals(original.vectors().keySet(), loaded.vectors().keySet());
            original.vectors().forEach((k, v) -> assertArrayEquals(v, loaded.vector(k), 0f, k));
            assertEquals(original.storageBytes(), loaded.storageBytes());
            assertSameLogits(original, loaded);

            Tokenizer back = m.tokenizer().orElseThrow();
            String text = "the cat and the dog ran off; a thorn in the side of 42 héros";
            assertArrayEquals(tok.encode(text), back.encode(text));
            assertEquals(tok.vocabSize(), back.vocabSize());
            assertEquals(tok.bos(), back.bos());
            assertEquals(tok.decode(tok.encode(text)), back.decode(back.encode(text)));

            assertEquals(provenance(), header(file).provenance()); // every field, null calibration included
            assertEquals("every-type", m.metadata().get("provenance.recipe"));
            assertEquals(provenance().recipeParams(), m.metadata().get("provenance.recipe_params"));
            assertFalse(m.metadata().containsKey("provenance.calibration"));
            assertEquals("llama, 300 tokens", m.metadata().get("tokenizer"));
        }
    }

    @Test
    void gpt2WithTiedHeadAndTransposedFloatMatrices() {
        ModelWeights base = TestModels.random(TestModels.GPT2, 2);
        // HF GPT-2 keeps Conv1D weights [in][out]; they are stored so, in F32, F16 and BF16.
        ModelWeights original = TestModels.map(base, (name, m) -> switch (name) {
            case "blk.0.attn_qkv.weight" -> TestModels.transposed(QuantType.F32, m);
            case "blk.0.ffn_up.weight" -> TestModels.transposed(QuantType.F16, m);
            case "blk.1.attn_output.weight" -> TestModels.transposed(QuantType.BF16, m);
            case "token_embd.weight" -> TestModels.rtn(m, QuantType.INT8, io.nashswarm.tensor.GroupSpec.symmetric(64));
            default -> TestModels.RECIPES.get(Math.floorMod(name.hashCode(), TestModels.RECIPES.size())).make().apply(m);
        });
        Path file = dir.resolve("gpt2.nsq");
        PackedModelWriter.write(original, null, provenance(), file, Progress.none());
        PackedHeader h = header(file);
        assertNull(h.tensor(CanonicalTensors.OUTPUT), "a tied head is stored once");
        assertEquals(Layout.IN_OUT, h.tensor("blk.0.attn_qkv.weight").layout());
        try (LoadedModel m = ModelLoader.load(file, null)) {
            ModelWeights loaded = m.weights();
            assertSame(loaded.matrix(CanonicalTensors.TOKEN_EMBD), loaded.matrix(CanonicalTensors.OUTPUT));
            assertTrue(m.tokenizer().isEmpty());
            assertTrue(m.tensors().stream().anyMatch(t -> t.name().equals("blk.0.ffn_up.weight") && t.transposed()));
            for (String name : original.matrices().keySet()) {
                assertTrue(TestModels.sameBytes(name, original.matrix(name), loaded.matrix(name)), name);
                assertSameRows(original.matrix(name), loaded.matrix(name), name);
            }
            assertSameLogits(original, loaded);
        }
    }

    @Test
    void aSeparateHeadForATiedConfigIsStoredAndTheConfigSaysSo() {
        ModelWeights base = TestModels.random(TestModels.GPT2, 3);
        Map<String, WeightMatrix> matrices = new LinkedHashMap<>(base.matrices());
        matrices.put(CanonicalTensors.OUTPUT, TestModels.ggml(QuantType.Q8_0, base.matrix(CanonicalTensors.OUTPUT)));
        ModelWeights split = new ModelWeights(base.config(), matrices, base.vectors(), null, "split head");
        Path file = dir.resolve("split.nsq");
        PackedModelWriter.write(split, null, provenance(), file, Progress.none());
        try (LoadedModel m = ModelLoader.load(file, null)) {
            assertFalse(m.weights().config().tiedEmbeddings());
            assertEquals(QuantType.Q8_0, m.weights().matrix(CanonicalTensors.OUTPUT).type());
            assertEquals(QuantType.F32, m.weights().matrix(CanonicalTensors.TOKEN_EMBD).type());
            assertSameLogits(split, m.weights());
        }
    }

    @Test
    void headerSizesAndOffsetsAccountForEveryByte() throws IOException {
        ModelWeights original = TestModels.everyRecipe(TestModels.random(TestModels.LLAMA_EVERY_TYPE, 4));
        Path file = dir.resolve("sizes.nsq");
        PackedModelWriter.write(original, TestModels.tinyTokenizer(dir), provenance(), file, Progress.none());
        PackedHeader h = header(file);
        long sections = 0, lastEnd = 0;
        int count = 0;
        for (TensorRecord t : h.tensors()) {
            for (TensorRecord.Section s : t.sections()) {
                assertEquals(0, s.offset() % 64, t.name() + " " + s.name());
                assertTrue(s.offset() >= lastEnd && s.offset() - lastEnd < 64, "no gap beyond alignment at " + t.name());
                lastEnd = s.offset() + s.bytes();
                sections += s.bytes();
                count++;
            }
        }
        assertEquals(original.storageBytes(), sections, "sections hold exactly the matrices' and vectors' storage bytes");
        assertEquals(h.dataOffset() + lastEnd, Files.size(file), "the file ends with the last section");
        long padding = Files.size(file) - 16 - h.headerBytes() - sections;
        assertTrue(padding >= 0 && padding < 64L * (count + 1), "padding " + padding);
        assertEquals(0, h.dataOffset() % 64);
    }

    @Test
    void writeIsAtomicAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("a.nsq");
        PackedModelWriter.write(TestModels.random(TestModels.GPT2, 5), null, provenance(), file, Progress.none());
        long size = Files.size(file);
        // A write that fails (a matrix the file cannot store) leaves the old file and no temporary file behind.
        ModelWeights bad = TestModels.map(TestModels.random(TestModels.GPT2, 6), (n, m) -> n.equals("blk.0.ffn_up.weight") ? new Opaque(m) : m);
        assertThrows(io.nashswarm.EngineException.class, () -> PackedModelWriter.write(bad, null, provenance(), file, Progress.none()));
        assertEquals(size, Files.size(file));
        try (var s = Files.list(dir)) {
            assertEquals(List.of("a.nsq"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    /** A matrix that only computes: it has no stored bytes to write. */
    private record Opaque(WeightMatrix inner) implements WeightMatrix {
        @Override public int rows() { return inner.rows(); }
        @Override public int cols() { return inner.cols(); }
        @Override public QuantType type() { return inner.type(); }
        @Override public long storageBytes() { return inner.storageBytes(); }
        @Override public void matvec(float[] x, float[] y, int s, int e) { inner.matvec(x, y, s, e); }
        @Override public void dequantizeRow(int r, float[] out, int off) { inner.dequantizeRow(r, out, off); }
    }

    static PackedHeader header(Path file) {
        try (Arena a = Arena.ofConfined()) {
            return PackedHeader.read(file, io.nashswarm.format.MappedFiles.map(file, a));
        }
    }

    static void assertSameRows(WeightMatrix a, WeightMatrix b, String what) {
        float[] ra = new float[a.cols()], rb = new float[b.cols()];
        for (int r = 0; r < a.rows(); r++) {
            a.dequantizeRow(r, ra, 0);
            b.dequantizeRow(r, rb, 0);
            for (int c = 0; c < ra.length; c++) {
                assertEquals(Float.floatToRawIntBits(ra[c]), Float.floatToRawIntBits(rb[c]), what + " row " + r + " col " + c);
            }
        }
    }

    /**
     * Prefill then two decode steps on both models. The weights are bit-identical (checked above), but
     * the Vector API's lane reductions may sum in a different order once C2 compiles a kernel, so the
     * same model run twice in one JVM can differ in the last bits: 1e-5 relative.
     */
    static void assertSameLogits(ModelWeights a, ModelWeights b) {
        ModelConfig c = a.config();
        int[] tokens = new int[Math.min(12, c.contextLength())];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i * 37 + 5) % c.vocabSize();
        }
        TransformerModel ma = TransformerModel.create(a), mb = TransformerModel.create(b);
        var sa = ma.newState();
        var sb = mb.newState();
        int prefill = tokens.length - 2;
        assertClose(ma.forward(sa, tokens, 0, prefill), mb.forward(sb, tokens, 0, prefill), "prefill");
        for (int p = prefill; p < tokens.length; p++) {
            assertClose(ma.forward(sa, tokens, p, 1), mb.forward(sb, tokens, p, 1), "position " + p);
        }
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertTrue(Float.isFinite(want[i]), what);
            // The bytes are compared exactly above; the logits only need to show the same model. Not 1e-5: a kernel
            // that moves between JIT tiers between the two models' calls may sum in another order, and the
            // table-lookup kernels (int2/int4 groups, Q4_0) round each input to 12-bit tables, where such a 1e-7
            // difference sometimes crosses a rounding step (max/2047 of a chunk): measured 2.3e-4 relative.
            assertEquals(want[i], got[i], 2e-3 * (1 + Math.abs(want[i])), what + " logit " + i);
        }
    }
}

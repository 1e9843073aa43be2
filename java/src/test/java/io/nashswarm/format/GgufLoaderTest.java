package io.nashswarm.format;

import io.nashswarm.format.gguf.GgufLoader;
import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GgufLoaderTest {
    @TempDir
    Path dir;

    /** Every tensor against the written values: ne = [cols, rows], data row-major. */
    private static void assertValues(ModelWeights w, GgufModel g) {
        for (var e : g.ne.entrySet()) {
            long[] ne = e.getValue();
            float[] v = g.values.get(e.getKey());
            if (ne.length == 1) {
                Fixtures.assertVector(v, w.vector(e.getKey()));
            } else {
                Fixtures.assertRowMajor(v, (int) ne[1], (int) ne[0], w.matrix(e.getKey()));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = QuantType.class, names = {"F32", "F16"})
    void llamaLoadsEveryTensor(QuantType type) {
        GgufModel g = GgufModel.llama(1, false);
        Path f = dir.resolve("model.gguf");
        g.write(f, type);
        try (LoadedModel m = ModelLoader.load(f, null)) {
            assertEquals(new ModelConfig(Architecture.LLAMA, 16, 24, 2, 4, 2, 13, 10, 1e-6f, 500000f, RopeStyle.INTERLEAVED, false),
                    m.weights().config());
            assertEquals("gguf", m.format());
            assertValues(m.weights(), g);
            assertEquals(type, m.weights().matrix("blk.1.attn_k.weight").type());
            assertEquals("tiny", m.metadata().get("general.name"));
            assertTrue(m.tokenizer().isEmpty(), "no tokenizer metadata in this file");
            assertEquals(g.ne.size(), m.tensors().size());
            Fixtures.assertMatvec(g.values.get("blk.0.ffn_down.weight"), false, 16, 24, m.weights().matrix("blk.0.ffn_down.weight"), new Random(2));
        }
    }

    @Test
    void llamaWithoutOutputIsTied() {
        GgufModel g = GgufModel.llama(3, true);
        g.meta.remove("llama.attention.head_count_kv");
        g.meta.remove("llama.rope.freq_base");
        g.ne.put("blk.0.attn_k.weight", new long[] {16, 16});
        g.ne.put("blk.0.attn_v.weight", new long[] {16, 16});
        g.ne.put("blk.1.attn_k.weight", new long[] {16, 16});
        g.ne.put("blk.1.attn_v.weight", new long[] {16, 16});
        for (String n : List.of("blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.1.attn_k.weight", "blk.1.attn_v.weight")) {
            g.values.put(n, Fixtures.random(new Random(n.hashCode()), 256));
        }
        Path f = dir.resolve("tied.gguf");
        g.write(f, QuantType.F32);
        try (LoadedModel m = ModelLoader.load(f, null)) {
            ModelConfig c = m.weights().config();
            assertTrue(c.tiedEmbeddings());
            assertEquals(4, c.nKvHeads(), "head_count_kv defaults to head_count");
            assertEquals(10000f, c.ropeTheta(), "rope.freq_base defaults to 10000");
            assertSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
            assertValues(m.weights(), g);
        }
    }

    @Test
    void gpt2LoadsEveryTensorOutInAsTheConverterWritesIt() {
        for (boolean withOutput : new boolean[] {false, true}) {
            GgufModel g = GgufModel.gpt2(4, withOutput);
            Path f = dir.resolve("gpt2-" + withOutput + ".gguf");
            g.write(f, QuantType.F16);
            try (LoadedModel m = ModelLoader.load(f, null)) {
                assertEquals(new ModelConfig(Architecture.GPT2, 8, 32, 2, 2, 2, 11, 6, 1e-5f, 0f, null, !withOutput), m.weights().config());
                assertValues(m.weights(), g);
                WeightMatrix qkv = m.weights().matrix("blk.1.attn_qkv.weight");
                assertEquals(24, qkv.rows());
                assertEquals(8, qkv.cols());
                Fixtures.assertMatvec(g.values.get("blk.1.attn_qkv.weight"), false, 24, 8, qkv, new Random(5));
                assertEquals(!withOutput, m.weights().matrix("output.weight") == m.weights().matrix("token_embd.weight"));
            }
        }
    }

    // ---- Q8_0 / Q4_0 blocks written by hand from the ggml specification ----

    private static short fp16(double d) {
        return Float.floatToFloat16((float) d);
    }

    /** Q8_0: per 32 weights, fp16 d then 32 int8 q; w = d·q. Row r: d = (r+1)/8, q[i] = (7i + 3r) mod 255 − 127. */
    private static byte[] q8Rows(int rows, double[][] expected) {
        byte[] b = new byte[rows * 34];
        for (int r = 0; r < rows; r++) {
            double d = (r + 1) / 8.0;
            short h = fp16(d);
            b[r * 34] = (byte) h;
            b[r * 34 + 1] = (byte) (h >> 8);
            for (int i = 0; i < 32; i++) {
                int q = (7 * i + 3 * r) % 255 - 127;
                b[r * 34 + 2 + i] = (byte) q;
                expected[r][i] = d * q;
            }
        }
        return b;
    }

    /** Q4_0: fp16 d then 16 bytes; byte j: low nibble = weight j, high nibble = weight j+16; w = d·(q − 8). */
    private static byte[] q4Rows(int rows, double[][] expected) {
        byte[] b = new byte[rows * 18];
        for (int r = 0; r < rows; r++) {
            double d = 0.5 * (r + 1);
            short h = fp16(d);
            b[r * 18] = (byte) h;
            b[r * 18 + 1] = (byte) (h >> 8);
            for (int j = 0; j < 16; j++) {
                int lo = (j + r) % 16, hi = (15 - j + r) % 16;
                b[r * 18 + 2 + j] = (byte) (lo | hi << 4);
                expected[r][j] = d * (lo - 8);
                expected[r][j + 16] = d * (hi - 8);
            }
        }
        return b;
    }

    @Test
    void q8AndQ4BlocksFollowTheSpecification() {
        GgufModel g = GgufModel.llama(6, true);
        // dim 32 so rows are whole blocks: 2 heads of 16, ffn 32, one layer
        g.meta.put("llama.embedding_length", GgufValue.uint32(32));
        g.meta.put("llama.feed_forward_length", GgufValue.uint32(32));
        g.meta.put("llama.block_count", GgufValue.uint32(1));
        g.meta.put("llama.attention.head_count", GgufValue.uint32(2));
        g.meta.put("llama.attention.head_count_kv", GgufValue.uint32(2));
        g.meta.put("llama.rope.dimension_count", GgufValue.uint32(16));
        g.ne.clear();
        g.values.clear();
        g.tensor("token_embd.weight", 32, 13);
        g.tensor("blk.0.attn_norm.weight", 32);
        g.tensor("blk.0.attn_q.weight", 32, 32);
        g.tensor("blk.0.attn_k.weight", 32, 32);
        g.tensor("blk.0.attn_v.weight", 32, 32);
        g.tensor("blk.0.attn_output.weight", 32, 32);
        g.tensor("blk.0.ffn_norm.weight", 32);
        g.tensor("blk.0.ffn_gate.weight", 32, 32);
        g.tensor("blk.0.ffn_up.weight", 32, 32);
        g.tensor("blk.0.ffn_down.weight", 32, 32);
        g.tensor("output_norm.weight", 32);
        double[][] q8 = new double[32][32], q4 = new double[32][32];
        g.encoded.put("blk.0.attn_q.weight", Map.entry(QuantType.Q8_0, q8Rows(32, q8)));
        g.encoded.put("blk.0.ffn_gate.weight", Map.entry(QuantType.Q4_0, q4Rows(32, q4)));
        Path f = dir.resolve("quant.gguf");
        g.write(f, QuantType.F32);

        // hand-computed values, straight from the formulas
        assertEquals(-15.875, q8[0][0]);   // d = 0.125, q = −127
        assertEquals(-15.0, q8[0][1]);     // q = 7 − 127
        assertEquals(-4.0, q4[0][0]);      // byte 0 = 0xF0: low nibble 0 → 0.5·(0 − 8)
        assertEquals(3.5, q4[0][16]);      //               high nibble 15 → 0.5·(15 − 8)
        assertEquals(-1.5, q4[0][5]);      // byte 5 = 0xA5: low 5
        assertEquals(1.0, q4[0][21]);      //               high 10

        try (LoadedModel m = ModelLoader.load(f, null)) {
            for (var check : List.of(Map.entry("blk.0.attn_q.weight", q8), Map.entry("blk.0.ffn_gate.weight", q4))) {
                WeightMatrix w = m.weights().matrix(check.getKey());
                double[][] want = check.getValue();
                assertEquals(check.getKey().contains("attn_q") ? QuantType.Q8_0 : QuantType.Q4_0, w.type());
                assertEquals(32L * (check.getKey().contains("attn_q") ? 34 : 18), w.storageBytes());
                float[] row = new float[32];
                for (int r = 0; r < 32; r++) {
                    w.dequantizeRow(r, row, 0);
                    for (int c = 0; c < 32; c++) {
                        assertEquals(want[r][c], row[c], 0.0, check.getKey() + " row " + r + " col " + c);
                    }
                }
                float[] x = Fixtures.random(new Random(7), 32);
                float[] y = new float[32];
                w.matvec(x, y, 0, 32);
                double xMax = 0;
                for (float v : x) {
                    xMax = Math.max(xMax, Math.abs(v));
                }
                for (int r = 0; r < 32; r++) {
                    double acc = 0, bound = 0;
                    for (int c = 0; c < 32; c++) {
                        acc += want[r][c] * x[c];
                        // the 16-bit product kernels round x to steps of max|x|/1984 (Q8_0) or max|x|/127 (Q4_0) (ByteRowKernels)
                        bound += Math.abs(want[r][c]) * xMax / (w.type() == QuantType.Q8_0 ? 1984 : 127) / 2;
                    }
                    assertEquals(acc, y[r], 1e-4 * (1 + Math.abs(acc)) + bound, check.getKey() + " matvec row " + r);
                }
            }
        }
    }

    // ---- metadata the engine must refuse ----

    private Path write(GgufModel g) {
        Path f = dir.resolve("bad.gguf");
        g.write(f, QuantType.F32);
        return f;
    }

    @Test
    void unsupportedArchitectureAndSettings() {
        GgufModel a = GgufModel.llama(8, true);
        a.meta.put("general.architecture", GgufValue.string("mamba"));
        Path fa = write(a);
        Fixtures.assertFormatError(fa, "unsupported architecture mamba (supported: gpt2, llama)", () -> ModelLoader.load(fa, null));

        GgufModel b = GgufModel.llama(8, true);
        b.meta.put("llama.rope.scaling.type", GgufValue.string("yarn"));
        Path fb = write(b);
        Fixtures.assertFormatError(fb, "rope scaling yarn is not supported", () -> ModelLoader.load(fb, null));

        GgufModel c = GgufModel.llama(8, true);
        c.meta.put("llama.expert_count", GgufValue.uint32(8));
        Path fc = write(c);
        Fixtures.assertFormatError(fc, "mixture-of-experts", () -> ModelLoader.load(fc, null));

        GgufModel d = GgufModel.llama(8, true);
        d.meta.remove("llama.block_count");
        Path fd = write(d);
        Fixtures.assertFormatError(fd, "missing metadata llama.block_count", () -> ModelLoader.load(fd, null));

        GgufModel e = GgufModel.llama(8, true);
        e.meta.put("llama.embedding_length", GgufValue.string("16"));
        Path fe = write(e);
        Fixtures.assertFormatError(fe, "metadata llama.embedding_length is 16, not a non-negative 32-bit integer", () -> ModelLoader.load(fe, null));

        GgufModel h = GgufModel.llama(8, true);
        h.meta.put("llama.attention.head_count_kv", GgufValue.uint32(3));
        Path fh = write(h);
        Fixtures.assertFormatError(fh, "invalid model configuration: 4 heads is not a multiple of 3 key/value heads", () -> ModelLoader.load(fh, null));
    }

    @Test
    void tensorsThatDoNotFitTheMetadata() {
        GgufModel a = GgufModel.llama(9, true);
        a.ne.put("blk.0.attn_k.weight", new long[] {16, 16});
        a.values.put("blk.0.attn_k.weight", new float[256]);
        Path fa = write(a);
        Fixtures.assertFormatError(fa, "tensor blk.0.attn_k.weight has shape [16, 16] but the GGUF metadata implies [16, 8]",
                () -> ModelLoader.load(fa, null));

        GgufModel b = GgufModel.llama(9, true);
        b.ne.remove("blk.1.ffn_up.weight");
        Path fb = write(b);
        Fixtures.assertFormatError(fb, "missing tensor blk.1.ffn_up.weight", () -> ModelLoader.load(fb, null));

        GgufModel c = GgufModel.llama(9, true);
        c.tensor("blk.0.attn_q.bias", 16);
        Path fc = write(c);
        Fixtures.assertFormatError(fc, "unexpected tensor blk.0.attn_q.bias", () -> ModelLoader.load(fc, null));

        // rope_freqs.weight (Llama 3.1 scaling) is read into the config: it must be head size / 2 positive F32s
        GgufModel r = GgufModel.llama(9, true);
        r.tensor("rope_freqs.weight", 3);
        Path fr = write(r);
        Fixtures.assertFormatError(fr, "tensor rope_freqs.weight is f32 [3]; expected F32 [2] (head size / 2)", () -> ModelLoader.load(fr, null));
        r.tensor("rope_freqs.weight", 2);
        r.values.put("rope_freqs.weight", new float[] {1f, -8f});
        Path fr2 = write(r);
        Fixtures.assertFormatError(fr2, "RoPE frequency factor -8.0 is not a positive number", () -> ModelLoader.load(fr2, null));
        r.values.put("rope_freqs.weight", new float[] {1f, 8f});
        Path fr3 = write(r);
        try (LoadedModel m = ModelLoader.loadWeights(fr3)) {
            assertEquals(List.of(1f, 8f), m.weights().config().ropeFreqFactors());
        }

        GgufModel d = GgufModel.llama(9, true);
        d.meta.put("tokenizer.ggml.tokens", GgufValue.strings(Collections.nCopies(12, "x")));
        Path fd = write(d);
        Fixtures.assertFormatError(fd, "tensor token_embd.weight has shape [16, 13] but the GGUF metadata implies [16, 12]", () -> {
            try (Arena arena = Arena.ofConfined()) {
                GgufLoader.load(fd, arena);
            }
        });
    }
}

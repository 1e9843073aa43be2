package io.nashswarm.format;

import io.nashswarm.format.Fixtures.Written;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.nashswarm.format.HfCheckpoints.*;
import static org.junit.jupiter.api.Assertions.*;

class HfLoaderTest {
    @TempDir
    Path dir;

    /** canonical name → (name in a GPT-2 file without prefix, stored [in][out]) — written from the transformers source, not the loader. */
    private static Map<String, Object[]> gpt2Names() {
        Map<String, Object[]> m = new LinkedHashMap<>();
        m.put("token_embd.weight", new Object[] {"wte.weight", false});
        m.put("position_embd.weight", new Object[] {"wpe.weight", false});
        for (int l = 0; l < G_LAYERS; l++) {
            String b = "blk." + l + ".", h = "h." + l + ".";
            m.put(b + "attn_norm.weight", new Object[] {h + "ln_1.weight", false});
            m.put(b + "attn_norm.bias", new Object[] {h + "ln_1.bias", false});
            m.put(b + "attn_qkv.weight", new Object[] {h + "attn.c_attn.weight", true});
            m.put(b + "attn_qkv.bias", new Object[] {h + "attn.c_attn.bias", false});
            m.put(b + "attn_output.weight", new Object[] {h + "attn.c_proj.weight", true});
            m.put(b + "attn_output.bias", new Object[] {h + "attn.c_proj.bias", false});
            m.put(b + "ffn_norm.weight", new Object[] {h + "ln_2.weight", false});
            m.put(b + "ffn_norm.bias", new Object[] {h + "ln_2.bias", false});
            m.put(b + "ffn_up.weight", new Object[] {h + "mlp.c_fc.weight", true});
            m.put(b + "ffn_up.bias", new Object[] {h + "mlp.c_fc.bias", false});
            m.put(b + "ffn_down.weight", new Object[] {h + "mlp.c_proj.weight", true});
            m.put(b + "ffn_down.bias", new Object[] {h + "mlp.c_proj.bias", false});
        }
        m.put("output_norm.weight", new Object[] {"ln_f.weight", false});
        m.put("output_norm.bias", new Object[] {"ln_f.bias", false});
        return m;
    }

    private static Map<String, String> llamaNames() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("token_embd.weight", "model.embed_tokens.weight");
        for (int l = 0; l < L_LAYERS; l++) {
            String b = "blk." + l + ".", h = "model.layers." + l + ".";
            m.put(b + "attn_norm.weight", h + "input_layernorm.weight");
            m.put(b + "attn_q.weight", h + "self_attn.q_proj.weight");
            m.put(b + "attn_k.weight", h + "self_attn.k_proj.weight");
            m.put(b + "attn_v.weight", h + "self_attn.v_proj.weight");
            m.put(b + "attn_output.weight", h + "self_attn.o_proj.weight");
            m.put(b + "ffn_norm.weight", h + "post_attention_layernorm.weight");
            m.put(b + "ffn_gate.weight", h + "mlp.gate_proj.weight");
            m.put(b + "ffn_up.weight", h + "mlp.up_proj.weight");
            m.put(b + "ffn_down.weight", h + "mlp.down_proj.weight");
        }
        m.put("output_norm.weight", "model.norm.weight");
        return m;
    }

    /** Compares every loaded tensor with what was written. */
    private static void assertSameValues(ModelWeights w, Map<String, Written> written, String canonical, String source, boolean transposed) {
        Written t = written.get(source);
        assertNotNull(t, source);
        if (t.shape().length == 1) {
            Fixtures.assertVector(t.values(), w.vector(canonical));
        } else if (transposed) {
            Fixtures.assertTransposed(t.values(), (int) t.shape()[1], (int) t.shape()[0], w.matrix(canonical));
        } else {
            Fixtures.assertRowMajor(t.values(), (int) t.shape()[0], (int) t.shape()[1], w.matrix(canonical));
        }
    }

    @ParameterizedTest
    @CsvSource({"F32, transformer.", "F16, transformer.", "BF16, transformer.", "F32, ''", "BF16, ''"})
    void gpt2LoadsEveryTensorWithOrWithoutPrefix(SafetensorsDtype dtype, String prefix) {
        Map<String, Written> written = Fixtures.byName(writeGpt2(dir, new Random(1), dtype, prefix, false));
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            ModelConfig c = m.weights().config();
            assertEquals(new ModelConfig(Architecture.GPT2, G_DIM, G_HIDDEN, G_LAYERS, G_HEADS, G_HEADS, G_VOCAB, G_CTX,
                    1e-5f, 0f, null, true), c);
            assertEquals("huggingface", m.format());
            assertTrue(m.tokenizer().isEmpty());
            for (var e : gpt2Names().entrySet()) {
                assertSameValues(m.weights(), written, e.getKey(), prefix + e.getValue()[0], (Boolean) e.getValue()[1]);
            }
            assertSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
            assertEquals(QuantType.valueOf(dtype.name()), m.weights().matrix("blk.1.attn_qkv.weight").type());
            // 2 + 12 per layer + 2 tensors; attn.bias mask buffers are not weights
            assertEquals(4 + 12 * G_LAYERS, m.tensors().size());
            assertEquals(written.size() - G_LAYERS, m.tensors().size());
            TensorEntry qkv = m.tensors().stream().filter(t -> t.name().equals("blk.0.attn_qkv.weight")).findFirst().orElseThrow();
            assertEquals(prefix + "h.0.attn.c_attn.weight", qkv.source());
            assertEquals(List.of((long) 3 * G_DIM, (long) G_DIM), qkv.shape());
            assertTrue(qkv.transposed());
            assertEquals(3L * G_DIM * G_DIM * dtype.size(), qkv.bytes());
        }
    }

    @Test
    void gpt2Conv1dMatvecUsesTheTransposedLayout() {
        Map<String, Written> written = Fixtures.byName(writeGpt2(dir, new Random(2), SafetensorsDtype.F32, "transformer.", false));
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            Random rng = new Random(3);
            Fixtures.assertMatvec(written.get("transformer.h.1.mlp.c_fc.weight").values(), true, G_HIDDEN, G_DIM,
                    m.weights().matrix("blk.1.ffn_up.weight"), rng);
            Fixtures.assertMatvec(written.get("transformer.h.0.mlp.c_proj.weight").values(), true, G_DIM, G_HIDDEN,
                    m.weights().matrix("blk.0.ffn_down.weight"), rng);
        }
    }

    @Test
    void gpt2WithItsOwnLmHeadIsNotTied() {
        Map<String, Written> written = Fixtures.byName(writeGpt2(dir, new Random(4), SafetensorsDtype.F16, "transformer.", true));
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            assertFalse(m.weights().config().tiedEmbeddings());
            assertNotSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
            assertSameValues(m.weights(), written, "output.weight", "lm_head.weight", false);
        }
    }

    @ParameterizedTest
    @EnumSource(value = SafetensorsDtype.class, names = {"F32", "F16", "BF16"})
    void llamaLoadsEveryTensor(SafetensorsDtype dtype) {
        Map<String, Written> written = Fixtures.byName(writeLlama(dir, new Random(5), dtype, false));
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            ModelConfig c = m.weights().config();
            assertEquals(new ModelConfig(Architecture.LLAMA, L_DIM, L_HIDDEN, L_LAYERS, L_HEADS, L_KV, L_VOCAB, L_CTX,
                    1e-6f, 500000f, RopeStyle.ROTATE_HALF, false), c);
            for (var e : llamaNames().entrySet()) {
                assertSameValues(m.weights(), written, e.getKey(), e.getValue(), false);
            }
            assertSameValues(m.weights(), written, "output.weight", "lm_head.weight", false);
            assertEquals(llamaNames().size() + 1, m.tensors().size());
            assertEquals(QuantType.valueOf(dtype.name()), m.weights().matrix("blk.0.attn_k.weight").type());
            Fixtures.assertMatvec(written.get("model.layers.1.mlp.down_proj.weight").values(), false, L_DIM, L_HIDDEN,
                    m.weights().matrix("blk.1.ffn_down.weight"), new Random(6));
        }
    }

    @Test
    void llamaTiedEmbeddingsShareOneMatrix() {
        writeLlama(dir, new Random(7), SafetensorsDtype.BF16, true);
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            assertTrue(m.weights().config().tiedEmbeddings());
            assertSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
            assertEquals(m.weights().distinctMatrices().size(), m.weights().matrices().size() - 1);
        }
    }

    @Test
    void llamaTiedCheckpointWithAStrayLmHeadStillTies() {
        List<Written> t = llamaTensors(new Random(8), SafetensorsDtype.F32, true);
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(true, ""));
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, t);
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            assertSame(m.weights().matrix("token_embd.weight"), m.weights().matrix("output.weight"));
        }
    }

    @Test
    void llamaDefaultsApplyWhenOptionalFieldsAreAbsent() {
        List<Written> t = llamaTensors(new Random(9), SafetensorsDtype.F32, false);
        Fixtures.writeString(dir.resolve("config.json"), """
                {"model_type": "llama", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 10,
                 "rms_norm_eps": 1e-05, "vocab_size": 13, "tie_word_embeddings": true}""");
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, t);
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            assertEquals(10000f, m.weights().config().ropeTheta());
        }
    }

    @Test
    void shardedCheckpointFollowsTheIndex() {
        Random rng = new Random(10);
        List<Written> all = llamaTensors(rng, SafetensorsDtype.BF16, true);
        List<Written> first = new ArrayList<>(), second = new ArrayList<>();
        StringBuilder map = new StringBuilder();
        for (int i = 0; i < all.size(); i++) {
            boolean one = i < all.size() / 2;
            (one ? first : second).add(all.get(i));
            String shard = one ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            map.append(map.isEmpty() ? "" : ",").append("\"").append(all.get(i).name()).append("\": \"").append(shard).append("\"");
        }
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        Fixtures.writeSafetensors(dir.resolve("model-00001-of-00002.safetensors"), SafetensorsDtype.BF16, first);
        Fixtures.writeSafetensors(dir.resolve("model-00002-of-00002.safetensors"), SafetensorsDtype.BF16, second);
        Fixtures.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\": {\"total_size\": 1234}, \"weight_map\": {" + map + "}}");
        Map<String, Written> written = Fixtures.byName(all);
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            for (var e : llamaNames().entrySet()) {
                assertSameValues(m.weights(), written, e.getKey(), e.getValue(), false);
            }
            assertSameValues(m.weights(), written, "output.weight", "lm_head.weight", false);
            assertEquals(4, m.files().size()); // config, index, two shards
            assertTrue(m.tensors().stream().anyMatch(t -> t.file().getFileName().toString().startsWith("model-00002")));
        }
    }

    @Test
    void aSafetensorsFileLoadsWithTheConfigBesideIt() {
        Map<String, Written> written = Fixtures.byName(writeGpt2(dir, new Random(11), SafetensorsDtype.F32, "", false));
        try (LoadedModel m = ModelLoader.load(dir.resolve("model.safetensors"), null)) {
            assertSameValues(m.weights(), written, "blk.1.attn_qkv.weight", "h.1.attn.c_attn.weight", true);
        }
    }

    @Test
    void matricesAreMappedNotCopied() {
        writeLlama(dir, new Random(12), SafetensorsDtype.F32, false);
        try (LoadedModel m = ModelLoader.load(dir, null)) {
            var q = (io.nashswarm.tensor.F32Matrix) m.weights().matrix("blk.0.attn_q.weight");
            assertTrue(q.data().isMapped(), "weights must stay in the mapped file");
            assertEquals(Layout.OUT_IN, q.layout());
        }
    }
}

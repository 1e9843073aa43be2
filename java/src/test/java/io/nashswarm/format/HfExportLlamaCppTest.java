package io.nashswarm.format;

import io.nashswarm.TestData;
import io.nashswarm.format.gguf.GgufExporter;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.interop.LlamaCppInteropTest;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face LLaMA path against llama.cpp: aidreams260K written as a Hugging Face checkpoint
 * (q/k rows in HF's half-split RoPE order, as transformers stores them), exported to GGUF by the
 * engine (which permutes q/k to GGUF's interleaved order and writes Llama 3.1 RoPE scaling as
 * {@code rope_freqs.weight}), then run by llama.cpp and compared with the engine running the HF
 * directory itself. With {@code rope_scaling} llama3 (original context 64, so that low-frequency
 * pairs are divided by 8 and the middle ones interpolated), both engines must still agree.
 */
class HfExportLlamaCppTest {
    @TempDir
    Path dir;

    /** Interleaved (GGUF/llama2.c) q/k rows back to HF's order: per head, even rows first, then odd rows. */
    static float[] toHfOrder(WeightMatrix m, int heads) {
        int rows = m.rows(), cols = m.cols(), hs = rows / heads;
        float[] out = new float[rows * cols];
        float[] row = new float[cols];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < hs; i++) {
                m.dequantizeRow(h * hs + i, row, 0);
                int hf = h * hs + (i % 2 == 0 ? i / 2 : hs / 2 + i / 2);
                System.arraycopy(row, 0, out, hf * cols, cols);
            }
        }
        return out;
    }

    static float[] values(WeightMatrix m) {
        float[] out = new float[m.rows() * m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, out, r * m.cols());
        }
        return out;
    }

    @ParameterizedTest(name = "rope_scaling {0}")
    @ValueSource(strings = {"null", "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}"})
    void hfCheckpointExportedToGgufRunsInLlamaCpp(String ropeScaling) {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path hf = dir.resolve("hf");
        Path gguf = dir.resolve("hf.gguf");
        try (LoadedModel m = ModelLoader.load(bin, null)) {
            ModelWeights w = m.weights();
            var c = w.config();
            List<Fixtures.Written> t = new ArrayList<>();
            t.add(new Fixtures.Written("model.embed_tokens.weight", new long[] {c.vocabSize(), c.dim()}, values(w.matrix("token_embd.weight"))));
            for (int l = 0; l < c.nLayers(); l++) {
                String g = "blk." + l + ".", h = "model.layers." + l + ".";
                t.add(new Fixtures.Written(h + "input_layernorm.weight", new long[] {c.dim()}, w.vector(g + "attn_norm.weight")));
                t.add(new Fixtures.Written(h + "self_attn.q_proj.weight", new long[] {c.dim(), c.dim()}, toHfOrder(w.matrix(g + "attn_q.weight"), c.nHeads())));
                t.add(new Fixtures.Written(h + "self_attn.k_proj.weight", new long[] {c.kvDim(), c.dim()}, toHfOrder(w.matrix(g + "attn_k.weight"), c.nKvHeads())));
                t.add(new Fixtures.Written(h + "self_attn.v_proj.weight", new long[] {c.kvDim(), c.dim()}, values(w.matrix(g + "attn_v.weight"))));
                t.add(new Fixtures.Written(h + "self_attn.o_proj.weight", new long[] {c.dim(), c.dim()}, values(w.matrix(g + "attn_output.weight"))));
                t.add(new Fixtures.Written(h + "post_attention_layernorm.weight", new long[] {c.dim()}, w.vector(g + "ffn_norm.weight")));
                t.add(new Fixtures.Written(h + "mlp.gate_proj.weight", new long[] {c.hiddenDim(), c.dim()}, values(w.matrix(g + "ffn_gate.weight"))));
                t.add(new Fixtures.Written(h + "mlp.up_proj.weight", new long[] {c.hiddenDim(), c.dim()}, values(w.matrix(g + "ffn_up.weight"))));
                t.add(new Fixtures.Written(h + "mlp.down_proj.weight", new long[] {c.dim(), c.hiddenDim()}, values(w.matrix(g + "ffn_down.weight"))));
            }
            t.add(new Fixtures.Written("model.norm.weight", new long[] {c.dim()}, w.vector("output_norm.weight")));
            try {
                Files.createDirectories(hf);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            Fixtures.writeString(hf.resolve("config.json"), """
                    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                     "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                     "num_key_value_heads": %d, "max_position_embeddings": %d, "rms_norm_eps": %s,
                     "rope_theta": %s, "rope_scaling": %s, "attention_bias": false,
                     "tie_word_embeddings": true, "vocab_size": %d, "bos_token_id": 1, "eos_token_id": 2}
                    """.formatted(c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(), c.contextLength(), c.normEps(),
                    c.ropeTheta(), ropeScaling, c.vocabSize()));
            Fixtures.writeSafetensors(hf.resolve("model.safetensors"), SafetensorsDtype.F32, t);
            try (LoadedModel fromHf = ModelLoader.loadWeights(hf)) {
                GgufExporter.export(fromHf.weights(), m.tokenizer().orElseThrow(), gguf,
                        new GgufExporter.Options(QuantType.F32, null, "aidreams260K as HF"), Progress.none());
            }
        }
        // The scaled export carries llama.cpp's rope_freqs.weight with divisors other than 1; the plain one has none.
        var freqs = io.nashswarm.format.gguf.GgufFile.read(gguf).tensor("rope_freqs.weight");
        org.junit.jupiter.api.Assertions.assertEquals(!ropeScaling.equals("null"), freqs.isPresent());
        int[] prompt = {1, 403, 407, 261, 378, 350};
        LlamaCppInteropTest.compare(gguf, hf, prompt, 48, 1e-3, "aidreams260K as an HF checkpoint, rope_scaling " + (ropeScaling.equals("null") ? "none" : "llama3"));
    }

    /**
     * GPT-2 (llama.cpp's gpt2 architecture: learned positions, fused qkv with biases, LayerNorm, gelu):
     * a small random GPT-2 with the real 50257-token vocabulary and tokenizer as transformers saves it
     * (Conv1D weights [in][out]), exported by the engine, run by llama.cpp and by the engine from the HF directory.
     */
    @org.junit.jupiter.api.Test
    void gpt2CheckpointExportedToGgufRunsInLlamaCpp() {
        Path tok = TestData.require("tokenizers/gpt2");
        int d = 64, ff = 256, layers = 2, ctx = 64, vocab = 50257;
        java.util.Random rng = new java.util.Random(5);
        SafetensorsDtype f32 = SafetensorsDtype.F32;
        List<Fixtures.Written> t = new ArrayList<>();
        t.add(scaled(Fixtures.tensor(rng, f32, "wte.weight", vocab, d), 0.3f));
        t.add(scaled(Fixtures.tensor(rng, f32, "wpe.weight", ctx, d), 0.1f));
        for (int l = 0; l < layers; l++) {
            String h = "h." + l + ".";
            t.add(Fixtures.tensor(rng, f32, h + "ln_1.weight", d));
            t.add(Fixtures.tensor(rng, f32, h + "ln_1.bias", d));
            t.add(scaled(Fixtures.tensor(rng, f32, h + "attn.c_attn.weight", d, 3 * d), 0.2f));
            t.add(Fixtures.tensor(rng, f32, h + "attn.c_attn.bias", 3 * d));
            t.add(scaled(Fixtures.tensor(rng, f32, h + "attn.c_proj.weight", d, d), 0.2f));
            t.add(Fixtures.tensor(rng, f32, h + "attn.c_proj.bias", d));
            t.add(Fixtures.tensor(rng, f32, h + "ln_2.weight", d));
            t.add(Fixtures.tensor(rng, f32, h + "ln_2.bias", d));
            t.add(scaled(Fixtures.tensor(rng, f32, h + "mlp.c_fc.weight", d, ff), 0.2f));
            t.add(Fixtures.tensor(rng, f32, h + "mlp.c_fc.bias", ff));
            t.add(scaled(Fixtures.tensor(rng, f32, h + "mlp.c_proj.weight", ff, d), 0.1f));
            t.add(Fixtures.tensor(rng, f32, h + "mlp.c_proj.bias", d));
        }
        t.add(Fixtures.tensor(rng, f32, "ln_f.weight", d));
        t.add(Fixtures.tensor(rng, f32, "ln_f.bias", d));
        Path hf = dir.resolve("gpt2");
        try {
            Files.createDirectories(hf);
            for (String f : List.of("encoder.json", "vocab.bpe")) {
                Files.copy(tok.resolve(f), hf.resolve(f));
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        Fixtures.writeString(hf.resolve("config.json"), """
                {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
                 "n_embd": %d, "n_layer": %d, "n_head": 2, "n_positions": %d, "n_ctx": %d, "n_inner": %d,
                 "layer_norm_epsilon": 1e-05, "vocab_size": %d, "bos_token_id": 50256, "eos_token_id": 50256}
                """.formatted(d, layers, ctx, ctx, ff, vocab));
        Fixtures.writeSafetensors(hf.resolve("model.safetensors"), f32, t);
        Path gguf = dir.resolve("gpt2.gguf");
        try (LoadedModel m = ModelLoader.load(hf, null)) {
            GgufExporter.export(m.weights(), m.tokenizer().orElseThrow(), gguf, new GgufExporter.Options(QuantType.F32, null, "tiny gpt2"), Progress.none());
        }
        int[] prompt = {7454, 2402, 257, 640, 11};  // "Once upon a time,"
        LlamaCppInteropTest.compare(gguf, hf, prompt, 40, 1e-3, "random GPT-2 (50257-token vocabulary) as an HF checkpoint");
    }

    private static Fixtures.Written scaled(Fixtures.Written w, float s) {
        float[] v = w.values().clone();
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return new Fixtures.Written(w.name(), w.shape(), v);
    }
}

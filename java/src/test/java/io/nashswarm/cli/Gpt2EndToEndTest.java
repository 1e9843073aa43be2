package io.nashswarm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.TestData;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.format.safetensors.SafetensorsWriter;
import io.nashswarm.tokenizer.Tokenizers;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A GPT-2 checkpoint laid out exactly as Hugging Face saves one (config.json, model.safetensors with
 * Conv1D weights [in][out], vocab.json + merges.txt from the real GPT-2 tokenizer), small random
 * weights, driven through the commands a user runs.
 */
class Gpt2EndToEndTest {
    static final int DIM = 32, LAYERS = 2, HEADS = 4, VOCAB = 50257, CTX = 64;

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeCheckpoint() throws Exception {
        Path encoder = TestData.require("tokenizers/gpt2/encoder.json");
        Path bpe = TestData.require("tokenizers/gpt2/vocab.bpe");
        model = dir.resolve("gpt2-tiny");
        Files.createDirectories(model);
        Files.copy(encoder, model.resolve("vocab.json"));
        Files.copy(bpe, model.resolve("merges.txt"));
        Files.writeString(model.resolve("config.json"), """
                {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
                 "n_embd": %d, "n_layer": %d, "n_head": %d, "n_positions": %d, "n_ctx": %d, "n_inner": null,
                 "layer_norm_epsilon": 1e-05, "vocab_size": %d, "bos_token_id": 50256, "eos_token_id": 50256,
                 "torch_dtype": "float32"}
                """.formatted(DIM, LAYERS, HEADS, CTX, CTX, VOCAB));
        Random rng = new Random(5);
        SafetensorsWriter w = new SafetensorsWriter();
        add(w, rng, "transformer.wte.weight", 0.1f, 0f, VOCAB, DIM);
        add(w, rng, "transformer.wpe.weight", 0.1f, 0f, CTX, DIM);
        for (int l = 0; l < LAYERS; l++) {
            String h = "transformer.h." + l + ".";
            add(w, rng, h + "ln_1.weight", 0.05f, 1f, DIM);
            add(w, rng, h + "ln_1.bias", 0.05f, 0f, DIM);
            add(w, rng, h + "attn.c_attn.weight", 0.1f, 0f, DIM, 3 * DIM);
            add(w, rng, h + "attn.c_attn.bias", 0.02f, 0f, 3 * DIM);
            add(w, rng, h + "attn.c_proj.weight", 0.1f, 0f, DIM, DIM);
            add(w, rng, h + "attn.c_proj.bias", 0.02f, 0f, DIM);
            add(w, rng, h + "ln_2.weight", 0.05f, 1f, DIM);
            add(w, rng, h + "ln_2.bias", 0.05f, 0f, DIM);
            add(w, rng, h + "mlp.c_fc.weight", 0.1f, 0f, DIM, 4 * DIM);
            add(w, rng, h + "mlp.c_fc.bias", 0.02f, 0f, 4 * DIM);
            add(w, rng, h + "mlp.c_proj.weight", 0.1f, 0f, 4 * DIM, DIM);
            add(w, rng, h + "mlp.c_proj.bias", 0.02f, 0f, DIM);
        }
        add(w, rng, "transformer.ln_f.weight", 0.05f, 1f, DIM);
        add(w, rng, "transformer.ln_f.bias", 0.05f, 0f, DIM);
        w.write(model.resolve("model.safetensors"));
    }

    private static void add(SafetensorsWriter w, Random rng, String name, float std, float mean, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        ByteBuffer b = ByteBuffer.allocate((int) (4 * n)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            b.putFloat(mean + std * (float) rng.nextGaussian());
        }
        w.add(name, SafetensorsDtype.F32, shape, b.array());
    }

    @Test
    void generateStreamsThePromptAndNewTokens() {
        CliRun.Result r = CliRun.run("generate", "-m", model.toString(), "-p", "Hello world", "-n", "8", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Hello world"), r.out());
        assertTrue(r.err().contains("prompt: 2 tokens"), "GPT-2 adds no BOS: 'Hello world' is [15496, 995]; " + r.err());
        assertTrue(r.err().contains("generation: 8 tokens") || r.err().contains("end-of-sequence"), r.err());
    }

    @Test
    void perplexityScoresEveryTokenOnceUnderTheStandardProtocol() throws Exception {
        Path wiki = TestData.require("text/wikitext-2-raw/wiki.test.raw");
        String text = Files.readString(wiki).substring(0, 3000);
        Path f = dir.resolve("excerpt.txt");
        Files.writeString(f, text);
        int n = Tokenizers.load(model).encode(text).length;
        CliRun.Result r = CliRun.run("perplexity", "-m", model.toString(), "-f", f.toString(), "--protocol", "both", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode results = new ObjectMapper().readTree(r.out()).get("results");
        JsonNode standard = results.get(0), snippets = results.get(1);
        assertEquals("standard", standard.get("protocol").asText());
        assertEquals(CTX, standard.get("ctx").asInt(), "default window = the model's context");
        assertEquals(CTX / 2, standard.get("stride").asInt(), "default stride = ctx/2");
        assertEquals(n, standard.get("tokens_in_text").asInt());
        assertEquals(n - 1, standard.get("tokens_scored").asInt(), "stride < ctx: every token after the first, once");
        double ppl = standard.get("perplexity").asDouble();
        // Random weights: near-uniform predictions, so PPL is near (but not above a few times) the vocabulary size.
        assertTrue(ppl > 1000 && ppl < 10 * VOCAB, "perplexity " + ppl);
        assertEquals("snippets", snippets.get("protocol").asText());
        assertTrue(snippets.get("segments").asInt() > 3);
    }

    @Test
    void quantizeThenGenerateAndExport() {
        Path nsq = dir.resolve("gpt2-int8.nsq");
        CliRun.Result q = CliRun.run("quantize", "-m", model.toString(), "-o", nsq.toString(), "--recipe", "int8");
        assertEquals(0, q.code(), q.err());
        CliRun.Result g = CliRun.run("generate", "-m", nsq.toString(), "-p", "Hello world", "-n", "4", "--temperature", "0");
        assertEquals(0, g.code(), g.err());
        assertTrue(g.out().startsWith("Hello world"), "the tokenizer travels inside the packed file: " + g.out());
        Path gguf = dir.resolve("gpt2-q8_0.gguf");
        CliRun.Result e = CliRun.run("export", "-m", model.toString(), "-o", gguf.toString(), "--type", "q8_0");
        assertEquals(0, e.code(), e.err());
        CliRun.Result g2 = CliRun.run("generate", "-m", gguf.toString(), "-p", "Hello world", "-n", "4", "--temperature", "0");
        assertEquals(0, g2.code(), g2.err());
        assertTrue(g2.out().startsWith("Hello world"), "the tokenizer travels inside the GGUF: " + g2.out());
    }
}

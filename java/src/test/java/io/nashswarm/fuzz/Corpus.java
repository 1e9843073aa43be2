package io.nashswarm.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.TestData;
import io.nashswarm.cli.Main;
import io.nashswarm.eval.SyntheticCheckpoint;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.format.safetensors.SafetensorsWriter;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tokenizer.Gpt2HfFormatsTest;
import io.nashswarm.tokenizer.LlamaHfJsonTest;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The real inputs the fuzzer corrupts, written once into a folder: the llama2.c aidreams260K model and its
 * tok512.bin; GGUF files from {@code export} (f32, q8_0, q4_0); a packed .nsq from {@code quantize} for every
 * recipe kind; Hugging Face folders (config.json, model.safetensors, a sharded index, tokenizer.json,
 * vocab.json + merges.txt, tokenizer.model). Without ../shared/data, a synthetic GGUF stands in for the model
 * and the formats that need real tokenizer files are left out (the seed list says which).
 */
final class Corpus {
    /**
     * One input: a folder whose {@code files} may each be corrupted; {@code model} is what {@code -m} gets
     * (a file in the folder, or "." for the folder); {@code tokenizer} says whether text can be given.
     */
    record Seed(String format, Path dir, String model, List<String> files, boolean tokenizer) {}

    /** A short English text for perplexity (about 40 tokens: two windows of 32 with a stride of 16). */
    static final String TEXT = """
            Once upon a time there was a little robot who liked to look at the stars.
            One evening a small bird sat beside it and asked what it was doing.
            """;

    final Path root;
    final List<Seed> seeds = new ArrayList<>();
    final Path text;
    final List<String> notes = new ArrayList<>();

    private Corpus(Path root) {
        this.root = root;
        this.text = root.resolve("short.txt");
    }

    /** Recipes of the CI sample: one per storage family (the full run has all of them). */
    static final List<String> SAMPLE_RECIPES = List.of("int8-channel", "int4 asym", "nf4", "q4_0", "nash-swarm outliers", "nash-swarm-weight");

    static Corpus build(Path root) throws IOException {
        return build(root, false);
    }

    /** {@code sample}: the CI test's smaller corpus (fewer packed recipes, one GGUF type, no vocab.json/merges.txt folder). */
    static Corpus build(Path root, boolean sample) throws IOException {
        Corpus c = new Corpus(root);
        Files.createDirectories(root);
        Files.writeString(c.text, TEXT);
        Path data = TestData.root();
        Path aidreams = data.resolve("models/aidreams260K/aidreams260K.bin");
        Path source;
        boolean realData = Files.isRegularFile(aidreams);
        if (realData) {
            Path d = c.dir("llama2c");
            Files.copy(aidreams, d.resolve("aidreams260K.bin"));
            Files.copy(data.resolve("models/aidreams260K/tok512.bin"), d.resolve("tok512.bin"));
            c.seeds.add(new Seed("llama2c", d, "aidreams260K.bin", List.of("aidreams260K.bin"), true));
            c.seeds.add(new Seed("llama2c tok512.bin", d, "aidreams260K.bin", List.of("tok512.bin"), true));
            source = d.resolve("aidreams260K.bin");
        } else {
            c.notes.add("../shared/data is absent: a synthetic tiny LLaMA (no tokenizer) replaces aidreams260K; llama2.c and Hugging Face seeds are left out");
            source = root.resolve("synthetic.gguf");
            SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 1, source);
        }
        for (String type : sample ? List.of("q8_0") : List.of("f32", "q8_0", "q4_0")) {
            Path d = c.dir("gguf-" + type);
            cli("export", "-m", source.toString(), "-o", d.resolve("model.gguf").toString(), "--type", type);
            c.seeds.add(new Seed("gguf " + type, d, "model.gguf", List.of("model.gguf"), realData));
        }
        Map<String, List<String>> recipes = new LinkedHashMap<>();
        for (String r : List.of("int4-tensor", "int8-channel", "int4-channel", "int2-channel", "int8", "int4", "int2", "nf4", "q8_0", "q4_0",
                "nash-swarm", "nash-swarm-weight")) {
            recipes.put(r, List.of("--recipe", r));
        }
        recipes.put("int4 asym", List.of("--recipe", "int4", "--asym"));
        recipes.put("nash-swarm outliers", List.of("--recipe", "nash-swarm", "--outliers", "0.5%"));
        recipes.put("target-bpw", List.of("--recipe", "target-bpw", "--bpw", "4.0"));
        for (var e : recipes.entrySet()) {
            if (sample && !SAMPLE_RECIPES.contains(e.getKey())) {
                continue;
            }
            Path d = c.dir("nsq-" + e.getKey().replace(' ', '-'));
            List<String> args = new ArrayList<>(List.of("quantize", "-m", source.toString(), "-o", d.resolve("model.nsq").toString()));
            args.addAll(e.getValue());
            cli(args.toArray(String[]::new));
            c.seeds.add(new Seed("nsq " + e.getKey(), d, "model.nsq", List.of("model.nsq"), realData));
        }
        if (realData && Files.isDirectory(data.resolve("tokenizers/gpt2")) && Files.isDirectory(data.resolve("tokenizers/llama2"))) {
            c.huggingFace(data, sample);
        } else if (realData) {
            c.notes.add("tokenizers/gpt2 or tokenizers/llama2 absent: Hugging Face seeds left out");
        }
        return c;
    }

    private void huggingFace(Path data, boolean sample) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Random rng = new Random(7);
        // GPT-2 byte-level BPE cut down to the 256 byte tokens, the first 300 real merges they allow and
        // <|endoftext|> (a small vocabulary keeps each case fast; the files have the real layout)
        Gpt2HfFormatsTest.Gpt2Files tiny = tinyGpt2(data.resolve("tokenizers/gpt2/vocab.bpe"), 300);
        int vocab = tiny.vocab().size();
        String gpt2Config = """
                {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
                 "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 64, "n_ctx": 64, "n_inner": null,
                 "layer_norm_epsilon": 1e-05, "vocab_size": %d, "bos_token_id": %d, "eos_token_id": %d}
                """.formatted(vocab, vocab - 1, vocab - 1);
        if (!sample) {
            Path g = dir("hf-gpt2");
            Files.writeString(g.resolve("config.json"), gpt2Config);
            gpt2Tensors(rng, SafetensorsDtype.F16, vocab).write(g.resolve("model.safetensors"));
            json.writeValue(g.resolve("vocab.json").toFile(), tiny.vocab());
            Files.writeString(g.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", tiny.merges()) + "\n");
            seeds.add(new Seed("hf gpt2 (vocab.json, merges.txt)", g, ".", List.of("config.json", "model.safetensors", "vocab.json", "merges.txt"), true));
        }

        Path gj = dir("hf-gpt2-tokenizer-json");
        Files.writeString(gj.resolve("config.json"), gpt2Config);
        gpt2Tensors(rng, SafetensorsDtype.BF16, vocab).write(gj.resolve("model.safetensors"));
        var tokJson = Gpt2HfFormatsTest.hfTokenizerJson(tiny, false);
        ((com.fasterxml.jackson.databind.node.ObjectNode) tokJson.get("added_tokens").get(0)).put("id", vocab - 1);
        json.writeValue(gj.resolve("tokenizer.json").toFile(), tokJson);
        seeds.add(new Seed("hf gpt2 tokenizer.json", gj, ".", List.of("tokenizer.json"), true));

        // LLaMA with Llama 2's 32000-token SentencePiece model, in two shards with an index
        String llamaConfig = """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
                 "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-06,
                 "rope_theta": 10000.0, "rope_scaling": null, "attention_bias": false,
                 "tie_word_embeddings": true, "vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2}
                """;
        Path l = dir("hf-llama-sharded");
        Files.writeString(l.resolve("config.json"), llamaConfig);
        List<Object[]> tensors = llamaTensors();
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int shard = 1; shard <= 2; shard++) {
            SafetensorsWriter w = new SafetensorsWriter();
            String file = "model-0000" + shard + "-of-00002.safetensors";
            for (int i = 0; i < tensors.size(); i++) {
                if ((i < tensors.size() / 2) == (shard == 1)) {
                    add(w, rng, SafetensorsDtype.F16, (String) tensors.get(i)[0], (long[]) tensors.get(i)[1]);
                    weightMap.put((String) tensors.get(i)[0], file);
                }
            }
            w.write(l.resolve(file));
        }
        json.writeValue(l.resolve("model.safetensors.index.json").toFile(), Map.of("metadata", Map.of("total_size", 0), "weight_map", weightMap));
        Files.copy(data.resolve("tokenizers/llama2/tokenizer.model"), l.resolve("tokenizer.model"));
        seeds.add(new Seed("hf llama sharded (tokenizer.model)", l, ".", List.of("config.json", "model.safetensors.index.json",
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "tokenizer.model"), true));

        Path lj = dir("hf-llama-tokenizer-json"); // with aidreams260K's 512-piece vocabulary
        Files.writeString(lj.resolve("config.json"), llamaConfig.replace("32000", "512"));
        SafetensorsWriter w = new SafetensorsWriter();
        for (Object[] t : tensors) {
            long[] shape = ((long[]) t[1]).clone();
            if (shape[0] == 32000) {
                shape[0] = 512;
            }
            add(w, rng, SafetensorsDtype.F32, (String) t[0], shape);
        }
        w.write(lj.resolve("model.safetensors"));
        json.writeValue(lj.resolve("tokenizer.json").toFile(), LlamaHfJsonTest.llamaTokenizerJson(LlamaHfJsonTest.Pieces.read(data.resolve("models/aidreams260K/tok512.bin")), true));
        seeds.add(new Seed("hf llama tokenizer.json", lj, ".", List.of("model.safetensors", "tokenizer.json"), true));
    }

    /** GPT-2's byte alphabet (bytes_to_unicode), the first {@code merges} merges of vocab.bpe it allows, and <|endoftext|>. */
    static Gpt2HfFormatsTest.Gpt2Files tinyGpt2(Path vocabBpe, int merges) throws IOException {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            vocab.put(String.valueOf((char) (printable ? b : 256 + extra++)), vocab.size());
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(vocabBpe)) {
            String[] ab = line.split(" ");
            if (line.startsWith("#") || ab.length != 2 || !vocab.containsKey(ab[0]) || !vocab.containsKey(ab[1]) || vocab.containsKey(ab[0] + ab[1])) {
                continue;
            }
            vocab.put(ab[0] + ab[1], vocab.size());
            kept.add(line);
            if (kept.size() == merges) {
                break;
            }
        }
        vocab.put("<|endoftext|>", vocab.size());
        return new Gpt2HfFormatsTest.Gpt2Files(vocab, kept);
    }

    private static SafetensorsWriter gpt2Tensors(Random rng, SafetensorsDtype dtype, int v) {
        SafetensorsWriter w = new SafetensorsWriter();
        int d = 8, ctx = 64, hidden = 32;
        add(w, rng, dtype, "wte.weight", v, d);
        add(w, rng, dtype, "wpe.weight", ctx, d);
        String h = "h.0.";
        add(w, rng, dtype, h + "ln_1.weight", d);
        add(w, rng, dtype, h + "ln_1.bias", d);
        add(w, rng, dtype, h + "attn.c_attn.weight", d, 3 * d);
        add(w, rng, dtype, h + "attn.c_attn.bias", 3 * d);
        add(w, rng, dtype, h + "attn.c_proj.weight", d, d);
        add(w, rng, dtype, h + "attn.c_proj.bias", d);
        add(w, rng, dtype, h + "ln_2.weight", d);
        add(w, rng, dtype, h + "ln_2.bias", d);
        add(w, rng, dtype, h + "mlp.c_fc.weight", d, hidden);
        add(w, rng, dtype, h + "mlp.c_fc.bias", hidden);
        add(w, rng, dtype, h + "mlp.c_proj.weight", hidden, d);
        add(w, rng, dtype, h + "mlp.c_proj.bias", d);
        add(w, rng, dtype, "ln_f.weight", d);
        add(w, rng, dtype, "ln_f.bias", d);
        return w;
    }

    private static List<Object[]> llamaTensors() {
        List<Object[]> t = new ArrayList<>();
        t.add(new Object[] {"model.embed_tokens.weight", new long[] {32000, 16}});
        for (int l = 0; l < 2; l++) {
            String m = "model.layers." + l + ".";
            t.add(new Object[] {m + "input_layernorm.weight", new long[] {16}});
            t.add(new Object[] {m + "self_attn.q_proj.weight", new long[] {16, 16}});
            t.add(new Object[] {m + "self_attn.k_proj.weight", new long[] {8, 16}});
            t.add(new Object[] {m + "self_attn.v_proj.weight", new long[] {8, 16}});
            t.add(new Object[] {m + "self_attn.o_proj.weight", new long[] {16, 16}});
            t.add(new Object[] {m + "post_attention_layernorm.weight", new long[] {16}});
            t.add(new Object[] {m + "mlp.gate_proj.weight", new long[] {32, 16}});
            t.add(new Object[] {m + "mlp.up_proj.weight", new long[] {32, 16}});
            t.add(new Object[] {m + "mlp.down_proj.weight", new long[] {16, 32}});
        }
        t.add(new Object[] {"model.norm.weight", new long[] {16}});
        return t;
    }

    /** Values N(0, 0.5²) (norm weights near 1), encoded as {@code dtype}. */
    private static void add(SafetensorsWriter w, Random rng, SafetensorsDtype dtype, String name, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        ByteBuffer b = ByteBuffer.allocate((int) n * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        boolean norm = name.contains("norm") || name.contains("ln_");
        for (long i = 0; i < n; i++) {
            float f = norm && name.endsWith("weight") ? 1f : 0.5f * (float) rng.nextGaussian();
            switch (dtype) {
                case F32 -> b.putFloat(f);
                case F16 -> b.putShort(Float.floatToFloat16(f));
                case BF16 -> b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
                default -> throw new IllegalArgumentException(dtype.name());
            }
        }
        w.add(name, dtype, shape, b.array());
    }

    private Path dir(String name) throws IOException {
        return Files.createDirectories(root.resolve(name));
    }

    /** Runs a CLI command that must succeed (building the corpus). */
    static void cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        if (code != 0) {
            throw new IllegalStateException(String.join(" ", args) + " failed (" + code + "): " + err);
        }
    }
}

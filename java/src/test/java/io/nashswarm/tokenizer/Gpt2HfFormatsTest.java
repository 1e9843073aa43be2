package io.nashswarm.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * GPT-2 through Hugging Face's layouts: a tokenizer.json written here from encoder.json + vocab.bpe
 * in the layout of the Hugging Face "gpt2" repository, and vocab.json + merges.txt. They must give
 * exactly the ids of the OpenAI files.
 */
public class Gpt2HfFormatsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    @TempDir
    Path dir;

    /** Token → id from encoder.json, merges from vocab.bpe (read here independently of the code under test). */
    public record Gpt2Files(Map<String, Integer> vocab, List<String> merges) {
        public static Gpt2Files read() throws IOException {
            Path d = Wiki.data(Wiki.GPT2_DIR);
            Map<String, Integer> vocab = new TreeMap<>();
            JSON.readTree(d.resolve("encoder.json").toFile()).properties()
                    .forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
            List<String> lines = Files.readAllLines(d.resolve("vocab.bpe"), StandardCharsets.UTF_8);
            List<String> merges = new ArrayList<>();
            for (String line : lines.subList(1, lines.size())) { // first line: "#version: 0.2"
                if (!line.isEmpty()) {
                    merges.add(line);
                }
            }
            return new Gpt2Files(vocab, merges);
        }
    }

    /** The tokenizer.json layout of Hugging Face's gpt2 repository (tokenizers 0.x serialization). */
    public static ObjectNode hfTokenizerJson(Gpt2Files files, boolean mergesAsArrays) {
        ObjectNode root = F.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ObjectNode eot = root.putArray("added_tokens").addObject();
        eot.put("id", 50256).put("content", "<|endoftext|>").put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", true).put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false)
                .put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        files.vocab().entrySet().stream().sorted(Map.Entry.comparingByValue())
                .forEach(e -> vocab.put(e.getKey(), e.getValue()));
        ArrayNode merges = model.putArray("merges");
        for (String m : files.merges()) {
            if (mergesAsArrays) {
                String[] p = m.split(" ");
                merges.addArray().add(p[0]).add(p[1]);
            } else {
                merges.add(m);
            }
        }
        return root;
    }

    @Test
    void hfTokenizerJsonGivesTheSameIdsOnAllOfWikiText() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        JSON.writeValue(file.toFile(), hfTokenizerJson(Gpt2Files.read(), false));
        Tokenizer hf = Tokenizers.load(dir); // a directory with tokenizer.json
        Tokenizer openai = Wiki.load(Wiki.GPT2_DIR);
        String text = Wiki.text();
        int[] ids = Wiki.timedEncode("GPT-2 (HF tokenizer.json)", hf, text);
        assertArrayEquals(openai.encode(text), ids);
        assertEquals(text, hf.decode(ids));
        assertEquals(50257, hf.vocabSize());
        assertEquals(50256, hf.eos());
        assertFalse(hf.addBos());
        assertArrayEquals(new int[] {31373, 220, 50256}, hf.encode("hello <|endoftext|>")); // tiktoken test_simple
    }

    @Test
    void newerMergesLayoutAndTokenizerConfig() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        JSON.writeValue(file.toFile(), hfTokenizerJson(Gpt2Files.read(), true));
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<|endoftext|>\", \"eos_token\": {\"content\": \"<|endoftext|>\"}, \"add_bos_token\": false}");
        Tokenizer hf = Tokenizers.load(file);
        String sample = Wiki.text().substring(0, 20_000);
        assertArrayEquals(Wiki.load(Wiki.GPT2_DIR).encode(sample), hf.encode(sample));
        assertEquals(50256, hf.bos());
        assertEquals(50256, hf.eos());
    }

    /**
     * Llama 3's tokenizer.json layout (regex Split + ByteLevel without its own regex, ignore_merges,
     * a template that puts <|begin_of_text|> first), filled with GPT-2's vocabulary and merges.
     */
    @Test
    void llama3StyleLayout() throws IOException {
        ObjectNode root = hfTokenizerJson(Gpt2Files.read(), false);
        ((ArrayNode) root.get("added_tokens")).addObject().put("id", 50257).put("content", "<|begin_of_text|>")
                .put("single_word", false).put("lstrip", false).put("rstrip", false).put("normalized", false)
                .put("special", true);
        ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", ByteLevelBpe.LLAMA3_PATTERN);
        split.put("behavior", "Isolated").put("invert", false);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true)
                .put("use_regex", false);
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<|begin_of_text|>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ((ObjectNode) root.get("model")).put("ignore_merges", true);
        Path file = dir.resolve("tokenizer.json");
        JSON.writeValue(file.toFile(), root);
        Tokenizer t = Tokenizers.load(file);
        assertEquals(50258, t.vocabSize());
        assertEquals(50257, t.bos());
        assertEquals(true, t.addBos());
        // tiktoken 0.14.0 with Llama 3's pattern over GPT-2's ranks and these two special tokens.
        assertArrayEquals(new int[] {13909, 3069, 46, 6, 50, 29564, 6, 3069}, t.encode("HELLO'S WORLD'LL"));
        assertArrayEquals(new int[] {10163, 29228, 3695, 2124}, t.encode("12345678 x")); // digits in threes
        assertArrayEquals(new int[] {64, 628, 220, 275}, t.encode("a\n\n  b"));
        assertArrayEquals(new int[] {50257, 17250, 50256}, t.encode("<|begin_of_text|>Hi<|endoftext|>"));
        String text = Wiki.text();
        int[] ids = t.encode(text);
        assertEquals(296_483, ids.length);
        assertEquals(-8709492457795069165L, Wiki.hash(ids));
        assertEquals(text, t.decode(ids));
    }

    @Test
    void vocabJsonAndMergesTxt() throws IOException {
        Path src = Wiki.data(Wiki.GPT2_DIR);
        Files.copy(src.resolve("encoder.json"), dir.resolve("vocab.json"));
        Files.copy(src.resolve("vocab.bpe"), dir.resolve("merges.txt"));
        String sample = Wiki.text().substring(0, 20_000);
        int[] expected = Wiki.load(Wiki.GPT2_DIR).encode(sample);
        assertArrayEquals(expected, Tokenizers.load(dir).encode(sample));
        assertArrayEquals(expected, Tokenizers.load(dir.resolve("vocab.json")).encode(sample)); // finds merges.txt
        assertArrayEquals(expected, Tokenizers.load(dir.resolve("merges.txt")).encode(sample)); // finds vocab.json
        assertArrayEquals(expected, Tokenizers.load(src.resolve("encoder.json")).encode(sample)); // finds vocab.bpe
    }
}

package io.nashswarm.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every tokenizer kind written as GGUF tokenizer metadata and rebuilt with {@link Tokenizers#fromGguf}
 * must give the original's ids on all of WikiText-2 (the real tokenizers), and settings GGUF cannot
 * hold must be refused.
 */
class GgufTokenizerMetadataTest {
    @TempDir
    Path dir;

    private static Tokenizer rebuilt(Tokenizer t) {
        return Tokenizers.fromGguf(GgufTokenizerMetadata.of(t), Path.of("rebuilt.gguf"));
    }

    private static void assertSameOnWiki(String name, Tokenizer original) {
        Tokenizer copy = rebuilt(original);
        String text = Wiki.text();
        int[] want = original.encode(text);
        int[] got = Wiki.timedEncode(name + " rebuilt from GGUF metadata", copy, text);
        assertArrayEquals(want, got, name);
        assertEquals(original.vocabSize(), copy.vocabSize());
        assertEquals(original.bos(), copy.bos());
        assertEquals(original.eos(), copy.eos());
        assertEquals(original.addBos(), copy.addBos());
        assertEquals(original.decode(want), copy.decode(got));
    }

    @Test
    void gpt2EncoderJsonAndVocabBpe() {
        Tokenizer t = Wiki.load(Wiki.GPT2_DIR);
        Map<String, Object> meta = GgufTokenizerMetadata.of(t);
        assertEquals("gpt2", meta.get(GgufTokenizerMetadata.MODEL));
        assertEquals("gpt-2", meta.get(GgufTokenizerMetadata.PRE));
        assertEquals(50_000, ((List<?>) meta.get(GgufTokenizerMetadata.MERGES)).size());
        assertEquals(3, ((List<?>) meta.get(GgufTokenizerMetadata.TOKEN_TYPE)).get(50256)); // <|endoftext|> is control
        assertSameOnWiki("GPT-2", t);
        assertArrayEquals(new int[] {31373, 220, 50256}, rebuilt(t).encode("hello <|endoftext|>"));
    }

    @Test
    void llama2TokenizerModel() {
        Tokenizer t = Wiki.load(Wiki.LLAMA_MODEL);
        Map<String, Object> meta = GgufTokenizerMetadata.of(t);
        assertEquals("llama", meta.get(GgufTokenizerMetadata.MODEL));
        assertEquals(32000, ((List<?>) meta.get(GgufTokenizerMetadata.SCORES)).size());
        assertSameOnWiki("Llama 2 tokenizer.model", t);
    }

    @Test
    void llama2TokenizerBinInfersTypes() {
        Tokenizer t = Wiki.load(Wiki.LLAMA_BIN);
        Map<String, Object> meta = GgufTokenizerMetadata.of(t);
        List<?> tokens = (List<?>) meta.get(GgufTokenizerMetadata.TOKENS);
        List<?> types = (List<?>) meta.get(GgufTokenizerMetadata.TOKEN_TYPE);
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
        assertEquals(List.of(2, 3, 3, 6), types.subList(0, 4));
        assertEquals("\u2581t", tokens.get(260)); // the export's " t", written with SentencePiece's ▁ again
        assertEquals(1, types.get(260));
        // The same pieces as tokenizer.model itself.
        assertEquals(GgufTokenizerMetadata.of(Wiki.load(Wiki.LLAMA_MODEL)).get(GgufTokenizerMetadata.TOKENS), tokens);
        assertSameOnWiki("Llama 2 tokenizer.bin", t);
    }

    @Test
    void aidreamsTok512() {
        assertSameOnWiki("aidreams tok512.bin", Wiki.load(Wiki.TOK512));
    }

    @Test
    void hfByteLevelTokenizerJson() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        new ObjectMapper().writeValue(file.toFile(), Gpt2HfFormatsTest.hfTokenizerJson(Gpt2HfFormatsTest.Gpt2Files.read(), true));
        Tokenizer hf = Tokenizers.load(file);
        String sample = Wiki.text().substring(0, 50_000);
        assertArrayEquals(hf.encode(sample), rebuilt(hf).encode(sample));
    }

    @Test
    void hfSentencePieceTokenizerJsonKeepsMergesNotScores() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        new ObjectMapper().writeValue(file.toFile(), LlamaHfJsonTest.llamaTokenizerJson(LlamaHfJsonTest.Pieces.read(), false));
        Tokenizer hf = Tokenizers.load(file);
        Map<String, Object> meta = GgufTokenizerMetadata.of(hf);
        assertFalse(meta.containsKey(GgufTokenizerMetadata.SCORES));
        assertEquals(61_249, ((List<?>) meta.get(GgufTokenizerMetadata.MERGES)).size());
        Tokenizer copy = rebuilt(hf);
        String sample = Wiki.text().substring(0, 50_000);
        assertArrayEquals(hf.encode(sample), copy.encode(sample));
        // The documented difference: a special token spelled in the text is plain text to the rebuilt tokenizer.
        assertArrayEquals(new int[] {15043, 2, 3186}, hf.encode("Hello</s>world"));
        assertNotEquals(List.of(15043, 2, 3186), toList(copy.encode("Hello</s>world")));
    }

    @Test
    void refusesWhatGgufCannotHold() throws IOException {
        // Metaspace "first": no ▁ in front of text that starts with a space.
        Path meta = dir.resolve("metaspace.json");
        new ObjectMapper().writeValue(meta.toFile(), LlamaHfJsonTest.llamaTokenizerJson(LlamaHfJsonTest.Pieces.read(), true));
        EngineException e = assertThrows(EngineException.class, () -> GgufTokenizerMetadata.of(Tokenizers.load(meta)));
        assertTrue(e.getMessage().contains("prepend scheme"), e.getMessage());

        // Llama 3 style: ignore_merges.
        ObjectNode root = Gpt2HfFormatsTest.hfTokenizerJson(Gpt2HfFormatsTest.Gpt2Files.read(), false);
        ((ObjectNode) root.get("model")).put("ignore_merges", true);
        Path l3 = dir.resolve("ignore.json");
        new ObjectMapper().writeValue(l3.toFile(), root);
        e = assertThrows(EngineException.class, () -> GgufTokenizerMetadata.of(Tokenizers.load(l3)));
        assertTrue(e.getMessage().contains("ignore_merges"), e.getMessage());

        // A custom pre-tokenizer regex.
        ObjectNode custom = Gpt2HfFormatsTest.hfTokenizerJson(Gpt2HfFormatsTest.Gpt2Files.read(), false);
        ObjectNode pre = custom.putObject("pre_tokenizer").put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        ObjectNode split = steps.addObject().put("type", "Split");
        split.putObject("pattern").put("Regex", "\\s+|\\S+");
        split.put("behavior", "Isolated").put("invert", false);
        steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        Path c = dir.resolve("custom.json");
        new ObjectMapper().writeValue(c.toFile(), custom);
        e = assertThrows(EngineException.class, () -> GgufTokenizerMetadata.of(Tokenizers.load(c)));
        assertTrue(e.getMessage().contains("pre-tokenizer regex"), e.getMessage());
    }

    @Test
    void paddingAddsControlTokensUpToTheModelVocabulary() {
        Tokenizer t = Wiki.load(Wiki.TOK512);
        Map<String, Object> meta = GgufTokenizerMetadata.padded(GgufTokenizerMetadata.of(t), 515);
        List<?> tokens = (List<?>) meta.get(GgufTokenizerMetadata.TOKENS);
        assertEquals(515, tokens.size());
        assertEquals("[PAD514]", tokens.get(514));
        assertEquals(515, ((List<?>) meta.get(GgufTokenizerMetadata.SCORES)).size());
        Tokenizer copy = Tokenizers.fromGguf(meta, Path.of("x.gguf"));
        String sample = Wiki.text().substring(0, 20_000);
        assertArrayEquals(t.encode(sample), copy.encode(sample));
        assertThrows(EngineException.class, () -> GgufTokenizerMetadata.padded(GgufTokenizerMetadata.of(t), 100));
    }

    private static List<Integer> toList(int[] ids) {
        return java.util.Arrays.stream(ids).boxed().toList();
    }
}

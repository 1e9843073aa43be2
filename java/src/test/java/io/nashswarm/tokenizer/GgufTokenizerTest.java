package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tokenizers from GGUF metadata, built here from the real tokenizer files the way llama.cpp's
 * converters store them (value types as the GGUF reader hands them over: uint32 → Long, arrays → List).
 */
class GgufTokenizerTest {
    private static final Path GGUF = Path.of("model.gguf");

    private static Map<String, Object> gpt2, llama;

    /** A fresh, modifiable copy (built once per run: reading the files is the slow part). */
    static synchronized Map<String, Object> gpt2Metadata() throws IOException {
        if (gpt2 == null) {
            gpt2 = buildGpt2Metadata();
        }
        return new HashMap<>(gpt2);
    }

    static synchronized Map<String, Object> llamaMetadata() throws IOException {
        if (llama == null) {
            llama = buildLlamaMetadata();
        }
        return new HashMap<>(llama);
    }

    private static Map<String, Object> buildGpt2Metadata() throws IOException {
        Gpt2HfFormatsTest.Gpt2Files files = Gpt2HfFormatsTest.Gpt2Files.read();
        String[] tokens = new String[files.vocab().size()];
        files.vocab().forEach((t, id) -> tokens[id] = t);
        List<Integer> types = new ArrayList<>();
        for (String t : tokens) {
            types.add(t.equals("<|endoftext|>") ? 3 : 1); // llama.cpp marks <|endoftext|> as a control token
        }
        Map<String, Object> m = new HashMap<>();
        m.put("tokenizer.ggml.model", "gpt2");
        m.put("tokenizer.ggml.pre", "gpt-2");
        m.put("tokenizer.ggml.tokens", List.of(tokens));
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.merges", files.merges());
        m.put("tokenizer.ggml.bos_token_id", 50256L);
        m.put("tokenizer.ggml.eos_token_id", 50256L);
        return m;
    }

    private static Map<String, Object> buildLlamaMetadata() throws IOException {
        LlamaHfJsonTest.Pieces p = LlamaHfJsonTest.Pieces.read();
        List<Integer> types = new ArrayList<>();
        for (int id = 0; id < p.pieces().size(); id++) {
            types.add(id == 0 ? 2 : id <= 2 ? 3 : id <= 258 ? 6 : 1); // unknown, control, byte, normal
        }
        Map<String, Object> m = new HashMap<>();
        m.put("tokenizer.ggml.model", "llama");
        m.put("tokenizer.ggml.tokens", p.pieces());
        m.put("tokenizer.ggml.scores", p.scores());
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.bos_token_id", 1L);
        m.put("tokenizer.ggml.eos_token_id", 2L);
        m.put("tokenizer.ggml.unknown_token_id", 0L);
        m.put("tokenizer.ggml.add_bos_token", true);
        return m;
    }

    @Test
    void gpt2MetadataMatchesTheFiles() throws IOException {
        Tokenizer t = Tokenizers.fromGguf(gpt2Metadata(), GGUF);
        String text = Wiki.text();
        int[] ids = Wiki.timedEncode("GPT-2 (GGUF metadata)", t, text);
        assertArrayEquals(Wiki.load(Wiki.GPT2_DIR).encode(text), ids);
        assertEquals(text, t.decode(ids));
        assertEquals(50256, t.eos());
        assertFalse(t.addBos());
        assertArrayEquals(new int[] {31373, 220, 50256}, t.encode("hello <|endoftext|>")); // tiktoken test_simple
    }

    @Test
    void llamaMetadataMatchesTheFiles() throws IOException {
        Tokenizer t = Tokenizers.fromGguf(llamaMetadata(), GGUF);
        String text = Wiki.text();
        int[] ids = Wiki.timedEncode("Llama 2 (GGUF metadata)", t, text);
        assertArrayEquals(Wiki.load(Wiki.LLAMA_MODEL).encode(text), ids);
        assertEquals(text, t.decode(ids));
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());
        assertTrue(t.addBos());
        assertEquals("Hello world", t.decode(new int[] {1, 15043, 3186, 2}));
    }

    @Test
    void badMetadataNamesTheFile() throws IOException {
        Map<String, Object> noModel = llamaMetadata();
        noModel.remove("tokenizer.ggml.model");
        Map<String, Object> bert = llamaMetadata();
        bert.put("tokenizer.ggml.model", "bert");
        Map<String, Object> badTokens = llamaMetadata();
        badTokens.put("tokenizer.ggml.tokens", "not a list");
        Map<String, Object> badScores = llamaMetadata();
        badScores.put("tokenizer.ggml.scores", List.of(1f, 2f));
        Map<String, Object> badPre = gpt2Metadata();
        badPre.put("tokenizer.ggml.pre", "qwen2");
        Map<String, Object> badBos = llamaMetadata();
        badBos.put("tokenizer.ggml.bos_token_id", 99_999L);
        for (Map<String, Object> m : List.of(noModel, bert, badTokens, badScores, badPre, badBos)) {
            FormatException e = assertThrows(FormatException.class, () -> Tokenizers.fromGguf(m, GGUF));
            assertTrue(e.getMessage().startsWith("model.gguf: "), e.getMessage());
        }
    }
}

package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Missing, empty, truncated and corrupt tokenizer files give a FormatException naming the file. */
class TokenizerFileErrorsTest {
    @TempDir
    Path dir;

    private static FormatException fails(Path path, String... words) {
        FormatException e = assertThrows(FormatException.class, () -> Tokenizers.load(path));
        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), () -> "'" + w + "' missing from: " + e.getMessage());
        }
        return e;
    }

    private Path write(String name, byte[] data) throws IOException {
        return Files.write(dir.resolve(name), data);
    }

    private Path write(String name, String text) throws IOException {
        return write(name, text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void missingAndEmpty() throws IOException {
        fails(dir.resolve("nope.bin"), "no such file");
        fails(write("tokenizer.json", new byte[0]), "empty");
        Path empty = Files.createDirectory(dir.resolve("emptydir"));
        fails(empty, "no tokenizer found");
    }

    @Test
    void truncatedLlama2cTokenizers() throws IOException {
        for (String file : new String[] {Wiki.LLAMA_BIN, Wiki.TOK512}) {
            byte[] data = Files.readAllBytes(Wiki.data(file));
            fails(write("cut.bin", Arrays.copyOf(data, data.length - 3)), "truncated");
            fails(write("cut.bin", Arrays.copyOf(data, 2)), "too short");
        }
    }

    @Test
    void truncatedAndCorruptSentencePieceModel() throws IOException {
        byte[] data = Files.readAllBytes(Wiki.data(Wiki.LLAMA_MODEL));
        fails(write("tokenizer.model", Arrays.copyOf(data, data.length / 2)), "SentencePiece");
        byte[] corrupt = data.clone();
        corrupt[1] = (byte) 0xFF; // the first piece's length now runs past the file
        fails(write("tokenizer.model", Arrays.copyOf(corrupt, 200)), "SentencePiece");
    }

    @Test
    void corruptJson() throws IOException {
        fails(write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,"), "invalid JSON", "line");
        fails(write("tokenizer.json", new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'}), "UTF-8");
        fails(write("tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}"), "Unigram");
        fails(write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}"), "'a'");
    }

    @Test
    void gpt2FilesWithProblems() throws IOException {
        Path gpt2 = Wiki.data(Wiki.GPT2_DIR);
        Path alone = Files.createDirectory(dir.resolve("alone"));
        Path vocab = Files.copy(gpt2.resolve("encoder.json"), alone.resolve("encoder.json"));
        fails(vocab, "vocab.bpe");                                        // merges file missing
        Files.writeString(alone.resolve("vocab.bpe"), "#version: 0.2\nĠ t\nĠt hisisnotatoken\n");
        fails(alone, "vocab.bpe", "hisisnotatoken", "not in the vocabulary"); // merge of an unknown token
        Files.writeString(alone.resolve("vocab.bpe"), "#version: 0.2\nĠ t\nthree parts here\n");
        assertTrue(assertThrows(FormatException.class, () -> Tokenizers.load(vocab)).getMessage()
                .contains("vocab.bpe: line 3 is not a merge rule"));
        Files.write(alone.resolve("vocab.bpe"), new byte[] {'#', 'v', '\n', (byte) 0xFF, ' ', 'a', '\n'});
        assertTrue(assertThrows(FormatException.class, () -> Tokenizers.load(vocab)).getMessage()
                .contains("vocab.bpe: not valid UTF-8"));
    }

    @Test
    void unknownFormats() throws IOException {
        fails(write("mystery.bin", "just some text, not a tokenizer\n"), "not a recognised tokenizer");
        byte[] random = new byte[4096];
        new java.util.Random(7).nextBytes(random);
        random[0] = 0x55;
        fails(write("random.bin", random), "not a recognised tokenizer");
        fails(write("array.json", "[1, 2, 3]"), "JSON object");
    }

    /** Fuzz regression: an id of 2^31-1 overflowed the vocabulary size (ArrayIndexOutOfBounds); a huge id must not size an array. */
    @Test
    void tokenizerJsonIdsOutOfRange() throws IOException {
        var json = LlamaHfJsonTest.llamaTokenizerJson(LlamaHfJsonTest.Pieces.read(Wiki.data(Wiki.TOK512)), true);
        for (int bad : new int[] {Integer.MAX_VALUE, -1, 1_000_000_000}) {
            var copy = json.deepCopy();
            ((com.fasterxml.jackson.databind.node.ObjectNode) copy.get("model").get("vocab")).put("a", bad);
            Path file = write("tokenizer.json", new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(copy));
            fails(file, "token 'a' has id " + bad);
        }
    }

    /** Fuzz regression: the same in GPT-2's vocab.json (ByteLevelBpe sized its arrays by the largest id). */
    @Test
    void gpt2VocabIdsOutOfRange() throws IOException {
        Path gpt2 = Wiki.data(Wiki.GPT2_DIR);
        Path d = Files.createDirectory(dir.resolve("gpt2"));
        Files.copy(gpt2.resolve("vocab.bpe"), d.resolve("vocab.bpe"));
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var vocab = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(gpt2.resolve("encoder.json").toFile());
        vocab.put("the", Integer.MAX_VALUE);
        Path file = d.resolve("encoder.json");
        Files.write(file, mapper.writeValueAsBytes(vocab));
        FormatException e = assertThrows(FormatException.class, () -> Tokenizers.load(file));
        assertTrue(e.getMessage().startsWith(d.toString()) && e.getMessage().contains("token 'the' has id " + Integer.MAX_VALUE), e.getMessage());
    }
}

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
}

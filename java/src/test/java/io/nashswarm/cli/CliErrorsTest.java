package io.nashswarm.cli;

import io.nashswarm.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input through the command line: one clear line naming the file or value and the problem,
 * exit code 1, and no stack trace unless --verbose.
 */
class CliErrorsTest {
    @TempDir
    Path dir;

    static void assertCleanError(CliRun.Result r, String... fragments) {
        assertEquals(1, r.code(), "exit code; stderr was:\n" + r.err());
        assertTrue(r.err().startsWith("error: ") || r.err().contains("\nerror: "), "an 'error:' line, got:\n" + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "stderr should mention '" + f + "', got:\n" + r.err());
        }
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose:\n" + r.err());
        assertFalse(r.err().contains("Exception"), "no exception class names without --verbose:\n" + r.err());
    }

    @Test
    void missingTokenizer() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        CliRun.Result r = CliRun.run("generate", "-m", bin.toString(), "-p", "Once", "-n", "4");
        assertCleanError(r, bin.toString(), "no tokenizer");
    }

    @Test
    void mismatchedTokenizer() {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path big = TestData.require("tokenizers/llama2/tokenizer.bin");
        CliRun.Result r = CliRun.run("generate", "-m", bin.toString(), "-t", big.toString(), "-p", "Once", "-n", "4");
        assertCleanError(r, "32000", "512");
    }

    @Test
    void outOfRangeTokenIds() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        CliRun.Result r = CliRun.run("generate", "-m", bin.toString(), "--prompt-ids", "1 999", "-n", "2");
        assertCleanError(r, "token id 999", "vocabulary of 512");
        CliRun.Result neg = CliRun.run("generate", "-m", bin.toString(), "--prompt-ids", "1,-3", "-n", "2");
        assertCleanError(neg, "token id -3");
    }

    @Test
    void promptLongerThanContext() {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        String longPrompt = "The robot dreamed of electric gardens. ".repeat(40);
        CliRun.Result r = CliRun.run("generate", "-m", bin.toString(), "-p", longPrompt, "-n", "4");
        assertCleanError(r, "prompt has", "context is 128 tokens");
    }

    @Test
    void nonUtf8TextFile() throws Exception {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path text = dir.resolve("latin1.txt");
        Files.write(text, new byte[] {'c', 'a', 'f', (byte) 0xE9, ' ', 'n', 'o', 'i', 'r', '\n'});
        CliRun.Result r = CliRun.run("perplexity", "-m", bin.toString(), "-f", text.toString());
        assertCleanError(r, text.toString(), "not valid UTF-8", "byte offset 3");
    }

    @Test
    void truncatedModelFile() throws Exception {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path cut = dir.resolve("cut.bin");
        byte[] all = Files.readAllBytes(bin);
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        CliRun.Result r = CliRun.run("generate", "-m", cut.toString(), "-p", "Once", "-n", "4");
        assertCleanError(r, cut.toString());
    }

    @Test
    void missingModelFile() {
        Path nowhere = dir.resolve("no-such-model.gguf");
        CliRun.Result r = CliRun.run("inspect", "-m", nowhere.toString());
        assertCleanError(r, nowhere.toString());
    }

    @Test
    void contextLargerThanModel() {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path text = TestData.require("text/wikitext-2-raw/wiki.test.raw");
        CliRun.Result r = CliRun.run("perplexity", "-m", bin.toString(), "-f", text.toString(), "--ctx", "4096");
        assertCleanError(r, "--ctx", "128");
    }

    @Test
    void verboseAddsTheStackTrace() {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        CliRun.Result r = CliRun.run("generate", "--verbose", "-m", bin.toString(), "--prompt-ids", "1 999", "-n", "2");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat "), "stack trace with --verbose:\n" + r.err());
    }

    @Test
    void idsPromptWithoutTokenizerPrintsIdsAndMatchesRunC() throws Exception {
        // stories260K has no tokenizer here; the next greedy id after a prompt of ids must be
        // the argmax of run.c's logits at the prompt's last position (recorded oracle data).
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        var oracle = io.nashswarm.model.RunCOracle.logits("stories260K-logits.txt");
        int[] ids = oracle.ids();
        StringBuilder prompt = new StringBuilder();
        for (int id : ids) {
            prompt.append(id).append(' ');
        }
        CliRun.Result r = CliRun.run("generate", "-m", bin.toString(), "--prompt-ids", prompt.toString().trim(), "-n", "1", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        float[] last = oracle.logits()[ids.length - 1];
        int expected = 0;
        for (int i = 1; i < last.length; i++) {
            if (last[i] > last[expected]) {
                expected = i;
            }
        }
        String[] printed = r.out().trim().split("\\s+");
        assertEquals(ids.length + 1, printed.length, "prompt ids then one generated id: " + r.out());
        assertEquals(expected, Integer.parseInt(printed[printed.length - 1]));
    }
}

package io.nashswarm.hub;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Expectations follow Python's fnmatch, which huggingface-cli uses for --include. */
class GlobTest {
    @Test
    void starMatchesAnyRunIncludingSlashes() {
        Glob g = Glob.of("*.gguf");
        assertTrue(g.matches("tiny.Q4_0.gguf"));
        assertTrue(g.matches("quants/tiny.Q4_0.gguf"));
        assertFalse(g.matches("tiny.Q4_0.gguf.part"));
        assertFalse(g.matches("tiny.gguf2"));
    }

    @Test
    void questionMarkMatchesExactlyOneCharacter() {
        Glob g = Glob.of("model-0000?.safetensors");
        assertTrue(g.matches("model-00001.safetensors"));
        assertFalse(g.matches("model-000001.safetensors"));
        assertFalse(g.matches("model-0000.safetensors"));
    }

    @Test
    void characterClassesAndTheirNegation() {
        assertTrue(Glob.of("q[48]_0.gguf").matches("q4_0.gguf"));
        assertFalse(Glob.of("q[48]_0.gguf").matches("q5_0.gguf"));
        assertTrue(Glob.of("q[!48]_0.gguf").matches("q5_0.gguf"));
        assertFalse(Glob.of("q[!48]_0.gguf").matches("q4_0.gguf"));
        assertTrue(Glob.of("q[0-9].bin").matches("q7.bin"));
        assertTrue(Glob.of("a[]]b").matches("a]b"), "a ']' first in a class is a member");
        assertTrue(Glob.of("a[b").matches("a[b"), "an unclosed '[' is literal");
    }

    @Test
    void regexCharactersAreLiterals() {
        Glob g = Glob.of("a+b(c){2}.^$|.json");
        assertTrue(g.matches("a+b(c){2}.^$|.json"));
        assertFalse(g.matches("aab(c){2}.^$|.json"));
        assertFalse(Glob.of("config.json").matches("configXjson"));
    }

    @Test
    void aTrailingSlashMeansTheWholeFolder() {
        Glob g = Glob.of("original/");
        assertTrue(g.matches("original/consolidated.00.pth"));
        assertTrue(g.matches("original/sub/params.json"));
        assertFalse(g.matches("originalx/params.json"));
    }

    @Test
    void aPlainNameMatchesOnlyItself() {
        Glob g = Glob.of("tiny.Q4_0.gguf");
        assertTrue(g.matches("tiny.Q4_0.gguf"));
        assertFalse(g.matches("sub/tiny.Q4_0.gguf"));
    }
}

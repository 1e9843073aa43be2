package io.nashswarm.tokenizer;

import io.nashswarm.TestData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The real data the tokenizer tests use, and small helpers for whole-file checks. */
final class Wiki {
    private Wiki() {}

    static final String GPT2_DIR = "tokenizers/gpt2";
    static final String LLAMA_MODEL = "tokenizers/llama2/tokenizer.model";
    static final String LLAMA_BIN = "tokenizers/llama2/tokenizer.bin";
    static final String TOK512 = "models/aidreams260K/tok512.bin";

    /** WikiText-2 raw test split, the whole file as text (skips the test when absent). */
    static String text() {
        try {
            return Files.readString(TestData.require("text/wikitext-2-raw/wiki.test.raw"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    /** The tokenizer at a data path, loaded once per test run (skips the test when absent). */
    static Tokenizer load(String relative) {
        Path path = TestData.require(relative);
        return LOADED.computeIfAbsent(relative, r -> Tokenizers.load(path));
    }

    /** A 64-bit polynomial hash of an id sequence (h = 31·h + id, wrapping), to pin a long sequence. */
    static long hash(int[] ids) {
        long h = 0;
        for (int id : ids) {
            h = h * 31 + id;
        }
        return h;
    }

    /** Encodes and reports the time (information only; tests never assert on time). */
    static int[] timedEncode(String name, Tokenizer t, String text) {
        long t0 = System.nanoTime();
        int[] ids = t.encode(text);
        System.out.printf("%s: encoded %,d chars into %,d tokens in %.0f ms%n", name, text.length(), ids.length,
                (System.nanoTime() - t0) / 1e6);
        return ids;
    }

    static Path data(String relative) {
        return TestData.require(relative);
    }
}

package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * GPT-2's tokenizer as two files: OpenAI's {@code encoder.json} + {@code vocab.bpe}, or the same
 * content as Hugging Face's {@code vocab.json} + {@code merges.txt}. {@code <|endoftext|>} is
 * GPT-2's only special token: it is BOS and EOS, and never added automatically.
 */
final class GptBpeFiles {
    static final String END_OF_TEXT = "<|endoftext|>";

    private GptBpeFiles() {}

    static Tokenizer read(Path vocabFile, byte[] vocabData, Path mergesFile, byte[] mergesData) {
        Map<String, Integer> vocab = JsonFiles.vocab(vocabFile, JsonFiles.parse(vocabFile, vocabData), "the vocabulary");
        List<String[]> merges = readMerges(mergesFile, mergesData);
        Integer eot = vocab.get(END_OF_TEXT);
        int special = eot == null ? -1 : eot;
        return new ByteLevelBpe(new ByteLevelBpe.Spec(mergesFile, vocab, merges,
                eot == null ? Map.of() : Map.of(END_OF_TEXT, eot),
                ByteLevelBpe.GPT2_PATTERN, false, false, special, special, false));
    }

    /** Merge rules, one "left right" pair a line, after an optional "#version" line. */
    static List<String[]> readMerges(Path path, byte[] data) {
        String text = JsonFiles.utf8Text(path, data);
        List<String[]> merges = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
                continue;
            }
            String[] parts = line.split(" ", -1);
            if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
                throw new FormatException(path, "line " + (i + 1) + " is not a merge rule (two tokens separated by one space): '"
                        + (line.length() > 60 ? line.substring(0, 60) + "…" : line) + "'");
            }
            merges.add(parts);
        }
        if (merges.isEmpty()) {
            throw new FormatException(path, "no merge rules in the file");
        }
        return merges;
    }

    /** Whether the bytes look like a merges file: "#version" first, or lines of two tokens. */
    static boolean looksLikeMerges(byte[] data) {
        int n = Math.min(data.length, 9);
        return new String(data, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1).startsWith("#version");
    }
}

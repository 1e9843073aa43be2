package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer stored in GGUF metadata ({@code tokenizer.ggml.*}), as llama.cpp writes it:
 * "gpt2" = byte-level BPE from tokens + merges (the pre-tokenizer regex named by
 * {@code tokenizer.ggml.pre}); "llama" = SentencePiece BPE from tokens + scores + token types.
 */
final class GgufTokenizer {
    private static final String P = "tokenizer.ggml.";

    private GgufTokenizer() {}

    static Tokenizer read(Map<String, Object> meta, Path file) {
        String model = string(meta, file, P + "model", null);
        List<String> tokens = strings(meta, file, P + "tokens", true);
        List<Integer> types = ints(meta, file, P + "token_type", tokens.size());
        return switch (model) {
            case "gpt2" -> byteLevel(meta, file, tokens, types);
            case "llama" -> sentencePiece(meta, file, tokens, types);
            default -> throw new FormatException(file, P + "model '" + model + "' is not supported (gpt2 or llama)");
        };
    }

    private static Tokenizer byteLevel(Map<String, Object> meta, Path file, List<String> tokens, List<Integer> types) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            if (vocab.putIfAbsent(tokens.get(id), id) != null) {
                throw new FormatException(file, P + "tokens has '" + tokens.get(id) + "' twice");
            }
            int type = types == null ? SentencePieceBpe.NORMAL : types.get(id);
            if (type == SentencePieceBpe.CONTROL || type == SentencePieceBpe.USER_DEFINED) {
                specials.put(tokens.get(id), id);
            }
        }
        List<String[]> merges = new ArrayList<>();
        for (String m : strings(meta, file, P + "merges", true)) {
            String[] pair = m.split(" ", -1);
            if (pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
                throw new FormatException(file, P + "merges entry " + (merges.size() + 1) + " '" + m + "' is not two tokens separated by a space");
            }
            merges.add(pair);
        }
        String pre = string(meta, file, P + "pre", "gpt2");
        String pattern = switch (pre) {
            case "gpt2", "gpt-2" -> ByteLevelBpe.GPT2_PATTERN;
            case "llama3", "llama-v3", "llama-bpe" -> ByteLevelBpe.LLAMA3_PATTERN;
            default -> throw new FormatException(file, P + "pre '" + pre + "' is not supported (gpt2, llama-bpe)");
        };
        int eot = vocab.getOrDefault(GptBpeFiles.END_OF_TEXT, -1);
        int bos = id(meta, file, P + "bos_token_id", eot, tokens.size());
        int eos = id(meta, file, P + "eos_token_id", eot, tokens.size());
        boolean addBos = bool(meta, file, P + "add_bos_token", false);
        return new ByteLevelBpe(new ByteLevelBpe.Spec(file, vocab, merges, specials, pattern, false, false, bos, eos, addBos));
    }

    private static Tokenizer sentencePiece(Map<String, Object> meta, Path file, List<String> tokens, List<Integer> types) {
        int n = tokens.size();
        if (types == null) {
            throw new FormatException(file, P + "token_type is missing (needed for a llama vocabulary)");
        }
        String[] pieces = tokens.toArray(String[]::new);
        int[] typeArray = new int[n];
        boolean hasBytes = false;
        for (int i = 0; i < n; i++) {
            typeArray[i] = types.get(i);
            if (typeArray[i] < SentencePieceBpe.NORMAL || typeArray[i] > SentencePieceBpe.BYTE) {
                throw new FormatException(file, P + "token_type of token " + i + " is " + typeArray[i] + " (expected 1..6)");
            }
            hasBytes |= typeArray[i] == SentencePieceBpe.BYTE;
        }
        int bos = id(meta, file, P + "bos_token_id", 1, n);
        int eos = id(meta, file, P + "eos_token_id", 2, n);
        var options = new SentencePieceBpe.Options(
                bool(meta, file, P + "add_space_prefix", true) ? SentencePieceBpe.Prefix.ALWAYS : SentencePieceBpe.Prefix.NEVER,
                bool(meta, file, P + "remove_extra_whitespaces", false), true, false, hasBytes, " \u2047 ",
                SpecialTokens.NONE, bos, eos, bool(meta, file, P + "add_bos_token", true));
        Object scoreList = meta.get(P + "scores");
        if (scoreList == null) {
            List<String> merges = strings(meta, file, P + "merges", false);
            if (merges == null) {
                throw new FormatException(file, P + "scores is missing (needed for a llama vocabulary)");
            }
            List<String[]> pairs = new ArrayList<>();
            for (String m : merges) {
                pairs.add(m.split(" ", 2));
            }
            return SentencePieceBpe.byMerges(file, pieces, typeArray, pairs, options);
        }
        if (!(scoreList instanceof List<?> list) || list.size() != n) {
            throw new FormatException(file, P + "scores should be a list of " + n + " floats");
        }
        float[] scores = new float[n];
        for (int i = 0; i < n; i++) {
            if (!(list.get(i) instanceof Number num)) {
                throw new FormatException(file, P + "scores[" + i + "] is not a number");
            }
            scores[i] = num.floatValue();
        }
        return SentencePieceBpe.byScores(file, pieces, scores, typeArray, options);
    }

    private static String string(Map<String, Object> meta, Path file, String key, String fallback) {
        Object v = meta.get(key);
        if (v == null) {
            if (fallback == null) {
                throw new FormatException(file, "metadata has no " + key);
            }
            return fallback;
        }
        if (!(v instanceof String s)) {
            throw new FormatException(file, key + " should be a string, not " + v.getClass().getSimpleName());
        }
        return s;
    }

    private static List<String> strings(Map<String, Object> meta, Path file, String key, boolean required) {
        Object v = meta.get(key);
        if (v == null) {
            if (required) {
                throw new FormatException(file, "metadata has no " + key);
            }
            return null;
        }
        if (!(v instanceof List<?> list)) {
            throw new FormatException(file, key + " should be an array of strings");
        }
        List<String> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof String s)) {
                throw new FormatException(file, key + " should be an array of strings, but has " + o);
            }
            out.add(s);
        }
        return out;
    }

    private static List<Integer> ints(Map<String, Object> meta, Path file, String key, int size) {
        Object v = meta.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List<?> list) || list.size() != size) {
            throw new FormatException(file, key + " should be an array of " + size + " integers");
        }
        List<Integer> out = new ArrayList<>(size);
        for (Object o : list) {
            if (!(o instanceof Integer || o instanceof Long)) {
                throw new FormatException(file, key + " should be an array of integers, but has " + o);
            }
            out.add(((Number) o).intValue());
        }
        return out;
    }

    private static int id(Map<String, Object> meta, Path file, String key, int fallback, int vocabSize) {
        Object v = meta.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Integer || v instanceof Long)) {
            throw new FormatException(file, key + " should be an integer, not " + v);
        }
        long id = ((Number) v).longValue();
        if (id < 0 || id >= vocabSize) {
            throw new FormatException(file, key + " " + id + " is outside the vocabulary of " + vocabSize + " tokens");
        }
        return (int) id;
    }

    private static boolean bool(Map<String, Object> meta, Path file, String key, boolean fallback) {
        Object v = meta.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Boolean b)) {
            throw new FormatException(file, key + " should be a boolean, not " + v);
        }
        return b;
    }
}

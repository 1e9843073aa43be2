package io.nashswarm.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import io.nashswarm.format.FormatException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} whose model is BPE, in one of the two layouts real models
 * use, told apart by content:
 * <ul>
 *   <li>byte-level (GPT-2, Llama 3): a ByteLevel pre-tokenizer, possibly after a regex Split;</li>
 *   <li>SentencePiece-converted (LLaMA 2, TinyLlama, Mistral): "▁" for spaces via a
 *       Prepend/Replace normalizer or a Metaspace pre-tokenizer, byte fallback.</li>
 * </ul>
 * BOS/EOS come from the post-processor template and, when present beside the file,
 * {@code tokenizer_config.json}.
 */
final class HfTokenizerJson {
    private HfTokenizerJson() {}

    static Tokenizer read(Path path, JsonNode root) {
        JsonNode model = root.get("model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new FormatException(path, "tokenizer model type '" + type + "' is not supported (only BPE)");
        }
        for (String field : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (!model.path(field).asText("").isEmpty()) {
                throw new FormatException(path, "model." + field + " '" + model.get(field).asText() + "' is not supported");
            }
        }
        Map<String, Integer> vocab = JsonFiles.vocab(path, model.get("vocab"), "model.vocab");
        List<String[]> merges = merges(path, model.get("merges"));
        Map<String, Integer> added = new LinkedHashMap<>();
        Map<String, Boolean> addedSpecial = new LinkedHashMap<>();
        for (JsonNode t : root.path("added_tokens")) {
            if (!t.path("id").canConvertToInt() || !t.path("content").isTextual()) {
                throw new FormatException(path, "added_tokens entry " + t + " lacks an integer id or a content string");
            }
            added.put(t.get("content").asText(), t.get("id").asInt());
            addedSpecial.put(t.get("content").asText(), t.path("special").asBoolean(false));
        }
        JsonNode pre = root.path("pre_tokenizer");
        JsonNode normalizer = root.path("normalizer");
        JsonNode decoder = root.path("decoder");
        Map<String, String> config = tokenizerConfig(path);

        if (hasType(pre, "ByteLevel") || hasType(decoder, "ByteLevel")) {
            if (!normalizer.isNull() && !normalizer.isMissingNode()) {
                throw new FormatException(path, "a normalizer (" + normalizer.path("type").asText() + ") before a byte-level BPE is not supported");
            }
            JsonNode byteLevel = find(pre, "ByteLevel");
            JsonNode split = find(pre, "Split");
            String pattern;
            if (split != null) {
                pattern = split.path("pattern").path("Regex").asText(null);
                if (pattern == null || split.path("invert").asBoolean(false)
                        || !split.path("behavior").asText("Isolated").equals("Isolated")) {
                    throw new FormatException(path, "pre-tokenizer Split " + split + " is not supported (only an isolating regex)");
                }
            } else if (byteLevel == null || byteLevel.path("use_regex").asBoolean(true)) {
                pattern = ByteLevelBpe.GPT2_PATTERN;
            } else {
                pattern = "(?s).+"; // no splitting: each run of text is one word
            }
            boolean prefixSpace = byteLevel != null && byteLevel.path("add_prefix_space").asBoolean(false);
            int bos = specialId(config, "bos_token", added, vocab, templateBos(root, added, vocab), "<|begin_of_text|>", GptBpeFiles.END_OF_TEXT);
            int eos = specialId(config, "eos_token", added, vocab, -1, "<|end_of_text|>", GptBpeFiles.END_OF_TEXT);
            boolean addBos = addBos(config, templateBos(root, added, vocab) >= 0);
            Map<String, Integer> specials = new LinkedHashMap<>(added);
            return new ByteLevelBpe(new ByteLevelBpe.Spec(path, vocab, merges, specials, pattern, prefixSpace,
                    model.path("ignore_merges").asBoolean(false), bos, eos, addBos));
        }

        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        JsonNode metaspace = find(pre, "Metaspace");
        boolean prepends = hasType(normalizer, "Prepend");
        boolean replacesSpaces = hasType(normalizer, "Replace");
        if (metaspace == null && !prepends && !replacesSpaces && !byteFallback) {
            throw new FormatException(path, "unrecognised tokenizer.json: a BPE model with neither a ByteLevel "
                    + "pre-tokenizer (GPT-2 style) nor SentencePiece-style '▁' spaces (Metaspace, Prepend/Replace, byte_fallback)");
        }
        checkNormalizer(path, normalizer);
        if (!pre.isNull() && !pre.isMissingNode() && metaspace == null) {
            throw new FormatException(path, "pre-tokenizer " + pre.path("type").asText() + " is not supported with a SentencePiece-style BPE");
        }
        SentencePieceBpe.Prefix prefix;
        boolean split = false;
        if (metaspace != null) {
            if (!metaspace.path("replacement").asText("\u2581").equals("\u2581")) {
                throw new FormatException(path, "Metaspace replacement '" + metaspace.get("replacement").asText() + "' is not supported");
            }
            String scheme = metaspace.has("prepend_scheme") ? metaspace.get("prepend_scheme").asText()
                    : metaspace.path("add_prefix_space").asBoolean(true) ? "always" : "never";
            prefix = switch (scheme) {
                case "always" -> SentencePieceBpe.Prefix.UNLESS_SPACE;
                case "first" -> SentencePieceBpe.Prefix.FIRST_UNLESS_SPACE;
                case "never" -> SentencePieceBpe.Prefix.NEVER;
                default -> throw new FormatException(path, "Metaspace prepend_scheme '" + scheme + "' is not known");
            };
            split = metaspace.path("split").asBoolean(true);
        } else {
            prefix = prepends ? SentencePieceBpe.Prefix.ALWAYS : SentencePieceBpe.Prefix.NEVER;
        }

        int size = JsonFiles.idSpace(path, List.of(vocab, added));
        String[] pieces = new String[size];
        int[] types = new int[size];
        Arrays.fill(types, SentencePieceBpe.NORMAL);
        vocab.forEach((text, id) -> pieces[id] = text);
        added.forEach((text, id) -> pieces[id] = text);
        for (int id = 0; id < size; id++) {
            if (pieces[id] == null) {
                throw new FormatException(path, "the vocabulary has no token with id " + id + " (ids must run from 0 to " + (size - 1) + ")");
            }
            if (byteFallback && SentencePieceBpe.bytePieceValue(pieces[id]) >= 0) {
                types[id] = SentencePieceBpe.BYTE;
            }
        }
        addedSpecial.forEach((text, special) -> {
            if (special) {
                types[added.get(text)] = SentencePieceBpe.CONTROL; // invisible when decoding, as in SentencePiece
            }
        });
        String unk = model.path("unk_token").asText(null);
        if (unk != null && vocab.containsKey(unk)) {
            types[vocab.get(unk)] = SentencePieceBpe.UNKNOWN;
        }
        int templateBos = templateBos(root, added, vocab);
        int bos = specialId(config, "bos_token", added, vocab, templateBos, "<s>");
        int eos = specialId(config, "eos_token", added, vocab, -1, "</s>");
        var options = new SentencePieceBpe.Options(prefix, false, true, split, byteFallback, " \u2047 ",
                new SpecialTokens(added), bos, eos, addBos(config, templateBos >= 0));
        return SentencePieceBpe.byMerges(path, pieces, types, merges, options);
    }

    /** Merges as "left right" strings (older files) or [left, right] arrays (newer ones). */
    private static List<String[]> merges(Path path, JsonNode node) {
        if (node == null || !node.isArray()) {
            throw new FormatException(path, "model.merges should be a list of merge rules");
        }
        List<String[]> merges = new ArrayList<>(node.size());
        for (JsonNode m : node) {
            String[] pair;
            if (m.isTextual()) {
                pair = m.asText().split(" ", -1);
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                pair = new String[] {m.get(0).asText(), m.get(1).asText()};
            } else {
                pair = null;
            }
            if (pair == null || pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
                throw new FormatException(path, "merge rule " + (merges.size() + 1) + " (" + m + ") is not a pair of tokens");
            }
            merges.add(pair);
        }
        return merges;
    }

    private static void checkNormalizer(Path path, JsonNode normalizer) {
        if (normalizer.isNull() || normalizer.isMissingNode()) {
            return;
        }
        List<JsonNode> steps = new ArrayList<>();
        if (normalizer.path("type").asText().equals("Sequence")) {
            normalizer.path("normalizers").forEach(steps::add);
        } else {
            steps.add(normalizer);
        }
        for (JsonNode step : steps) {
            String type = step.path("type").asText();
            boolean ok = switch (type) {
                case "Prepend" -> step.path("prepend").asText().equals("\u2581");
                case "Replace" -> step.path("pattern").path("String").asText("").equals(" ")
                        && step.path("content").asText().equals("\u2581");
                default -> false;
            };
            if (!ok) {
                throw new FormatException(path, "normalizer " + step + " is not supported (only Prepend(\"\u2581\") and Replace(\" \" → \"\u2581\"))");
            }
        }
    }

    /** The node itself or a member of a Sequence with that type, or null. */
    private static JsonNode find(JsonNode node, String type) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.path("type").asText().equals(type)) {
            return node;
        }
        for (String list : List.of("pretokenizers", "normalizers", "decoders")) {
            for (JsonNode member : node.path(list)) {
                if (member.path("type").asText().equals(type)) {
                    return member;
                }
            }
        }
        return null;
    }

    private static boolean hasType(JsonNode node, String type) {
        return find(node, type) != null;
    }

    /** The special token a TemplateProcessing post-processor puts first in a single sequence, or -1. */
    private static int templateBos(JsonNode root, Map<String, Integer> added, Map<String, Integer> vocab) {
        JsonNode post = root.path("post_processor");
        JsonNode template = find(post, "TemplateProcessing");
        if (template == null) {
            return -1;
        }
        JsonNode first = template.path("single").path(0).path("SpecialToken");
        if (first.isMissingNode()) {
            return -1;
        }
        String name = first.path("id").asText();
        JsonNode ids = template.path("special_tokens").path(name).path("ids");
        if (ids.isArray() && ids.size() == 1) {
            return ids.get(0).asInt();
        }
        Integer id = added.containsKey(name) ? added.get(name) : vocab.get(name);
        return id == null ? -1 : id;
    }

    private static int specialId(Map<String, String> config, String key, Map<String, Integer> added,
                                 Map<String, Integer> vocab, int fallback, String... usualNames) {
        String name = config.get(key);
        if (name != null) {
            Integer id = added.containsKey(name) ? added.get(name) : vocab.get(name);
            if (id != null) {
                return id;
            }
        }
        if (fallback >= 0) {
            return fallback;
        }
        for (String usual : usualNames) {
            Integer id = added.containsKey(usual) ? added.get(usual) : vocab.get(usual);
            if (id != null) {
                return id;
            }
        }
        return -1;
    }

    private static boolean addBos(Map<String, String> config, boolean fromTemplate) {
        String v = config.get("add_bos_token");
        return v != null ? Boolean.parseBoolean(v) : fromTemplate;
    }

    /** bos_token, eos_token and add_bos_token from tokenizer_config.json beside the file, if there is one. */
    private static Map<String, String> tokenizerConfig(Path tokenizerJson) {
        Path dir = tokenizerJson.toAbsolutePath().getParent();
        Path file = dir == null ? null : dir.resolve("tokenizer_config.json");
        Map<String, String> out = new LinkedHashMap<>();
        if (file == null || !Files.isRegularFile(file)) {
            return out;
        }
        JsonNode root = JsonFiles.parse(file, Tokenizers.readAll(file));
        for (String key : List.of("bos_token", "eos_token")) {
            JsonNode v = root.path(key);
            String name = v.isTextual() ? v.asText() : v.path("content").asText(null);
            if (name != null) {
                out.put(key, name);
            }
        }
        if (root.path("add_bos_token").isBoolean()) {
            out.put("add_bos_token", String.valueOf(root.get("add_bos_token").asBoolean()));
        }
        return out;
    }
}

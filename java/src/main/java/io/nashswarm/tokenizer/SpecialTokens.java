package io.nashswarm.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Added tokens that encoding recognises in the text as single ids before any other processing,
 * as Hugging Face tokenizers do with added (special) tokens, e.g. GPT-2's {@code <|endoftext|>}.
 * The longest token wins where several start at the same place.
 */
final class SpecialTokens {
    static final SpecialTokens NONE = new SpecialTokens(Map.of());

    /** Receives the text between special tokens and the special tokens' ids, in order. */
    interface Visitor {
        /** A non-empty run of ordinary text starting at {@code offset} in the original text. */
        void text(String segment, int offset);

        void special(int id);
    }

    private final Map<String, Integer> ids = new LinkedHashMap<>();
    private final Map<Character, String[]> byFirstChar = new HashMap<>(); // longest first

    SpecialTokens(Map<String, Integer> contentToId) {
        Map<Character, List<String>> groups = new HashMap<>();
        contentToId.forEach((content, id) -> {
            if (!content.isEmpty()) {
                ids.put(content, id);
                groups.computeIfAbsent(content.charAt(0), c -> new ArrayList<>()).add(content);
            }
        });
        groups.forEach((c, list) -> byFirstChar.put(c, list.stream()
                .sorted(Comparator.comparingInt(String::length).reversed()).toArray(String[]::new)));
    }

    /** Content → id of every token recognised in text. */
    Map<String, Integer> tokens() {
        return java.util.Collections.unmodifiableMap(ids);
    }

    void split(String text, Visitor visitor) {
        int start = 0;
        if (!ids.isEmpty()) {
            for (int i = 0; i < text.length(); i++) {
                String[] candidates = byFirstChar.get(text.charAt(i));
                if (candidates == null) {
                    continue;
                }
                for (String c : candidates) {
                    if (text.startsWith(c, i)) {
                        if (i > start) {
                            visitor.text(text.substring(start, i), start);
                        }
                        visitor.special(ids.get(c));
                        start = i + c.length();
                        i = start - 1;
                        break;
                    }
                }
            }
        }
        if (start < text.length()) {
            visitor.text(text.substring(start), start);
        }
    }
}

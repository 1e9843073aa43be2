package io.nashswarm.tokenizer;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

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

    private final Map<String, Integer> ids;
    private final Pattern pattern;

    SpecialTokens(Map<String, Integer> contentToId) {
        this.ids = new LinkedHashMap<>(contentToId);
        this.ids.remove("");
        this.pattern = ids.isEmpty() ? null : Pattern.compile(ids.keySet().stream()
                .sorted(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()))
                .map(Pattern::quote)
                .collect(Collectors.joining("|")));
    }

    Map<String, Integer> ids() {
        return ids;
    }

    List<String> contents() {
        return List.copyOf(ids.keySet());
    }

    void split(String text, Visitor visitor) {
        if (pattern == null) {
            if (!text.isEmpty()) {
                visitor.text(text, 0);
            }
            return;
        }
        Matcher m = pattern.matcher(text);
        int start = 0;
        while (m.find()) {
            if (m.start() > start) {
                visitor.text(text.substring(start, m.start()), start);
            }
            visitor.special(ids.get(m.group()));
            start = m.end();
        }
        if (start < text.length()) {
            visitor.text(text.substring(start), start);
        }
    }
}

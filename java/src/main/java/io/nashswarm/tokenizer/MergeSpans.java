package io.nashswarm.tokenizer;

import java.util.function.IntPredicate;

/**
 * Cuts text into spans that BPE can merge independently, so that each span can be merged (and
 * cached) on its own with exactly the result of merging the whole text at once. A merge can only
 * join two neighbouring characters if some merged token contains them next to each other; where no
 * merged token contains the pair (a, b), no symbol ever spans the boundary between a and b, and
 * since merges on either side never interact, the greedy order within each side is unchanged.
 * Characters without a symbol of their own (they fall back to byte tokens) are never cut around.
 */
final class MergeSpans {
    /** Receives spans as [start, end) char offsets. */
    interface SpanConsumer {
        void span(int start, int end);
    }

    private final LongSet pairs = new LongSet();

    /** Records that {@code merged}, the text of a merge result, can exist. */
    void addMergedText(String merged) {
        int prev = -1;
        for (int i = 0; i < merged.length(); ) {
            int cp = merged.codePointAt(i);
            if (prev >= 0) {
                pairs.add(LongSet.pair(prev, cp));
            }
            prev = cp;
            i += Character.charCount(cp);
        }
    }

    /**
     * @param known       characters that start as a symbol of their own
     * @param forcedCut   a character before which a span always starts (Metaspace split), or -1
     */
    void split(String s, IntPredicate known, int forcedCut, SpanConsumer consumer) {
        int start = 0;
        int prev = -1;
        boolean prevKnown = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            boolean isKnown = known.test(cp);
            if (i > start && (cp == forcedCut
                    || (isKnown && prevKnown && !pairs.contains(LongSet.pair(prev, cp))))) {
                consumer.span(start, i);
                start = i;
            }
            prev = cp;
            prevKnown = isKnown;
            i += Character.charCount(cp);
        }
        if (start < s.length()) {
            consumer.span(start, s.length());
        }
    }
}

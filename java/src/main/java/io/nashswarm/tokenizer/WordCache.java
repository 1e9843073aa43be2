package io.nashswarm.tokenizer;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Token ids of recently seen words (pre-tokenized pieces). Natural text repeats a small set of
 * words, so most pieces are merged once. Bounded: when full it is simply cleared, which keeps it
 * cheap and thread-safe.
 */
final class WordCache {
    private static final int MAX_ENTRIES = 1 << 17;
    private final ConcurrentHashMap<String, int[]> map = new ConcurrentHashMap<>();

    int[] get(String word, Function<String, int[]> encoder) {
        int[] ids = map.get(word);
        if (ids == null) {
            ids = encoder.apply(word);
            if (map.size() >= MAX_ENTRIES) {
                map.clear();
            }
            map.put(word, ids);
        }
        return ids;
    }
}

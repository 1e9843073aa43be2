package io.nashswarm.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/** Code point → token id, -1 when absent: a flat table for the BMP, a map beyond it. */
final class CodePointMap {
    private final int[] bmp = new int[0x10000];
    private final Map<Integer, Integer> astral = new HashMap<>();

    CodePointMap() {
        Arrays.fill(bmp, -1);
    }

    void putIfAbsent(int cp, int id) {
        if (get(cp) < 0) {
            if (cp < bmp.length) {
                bmp[cp] = id;
            } else {
                astral.put(cp, id);
            }
        }
    }

    int get(int cp) {
        return cp < bmp.length ? bmp[cp] : astral.getOrDefault(cp, -1);
    }

    boolean contains(int cp) {
        return get(cp) >= 0;
    }

    /** The code point of a one-character string, or -1 if the string is not exactly one character. */
    static int single(String s) {
        if (s.isEmpty()) {
            return -1;
        }
        int cp = s.codePointAt(0);
        return Character.charCount(cp) == s.length() ? cp : -1;
    }
}

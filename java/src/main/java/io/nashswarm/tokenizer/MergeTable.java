package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;

import java.nio.file.Path;
import java.util.Map;

/**
 * The BPE merge rules: pair of token ids → merged token id and its priority. Lower cost merges
 * first: a merges-file rank is its cost directly; a SentencePiece score is mapped so that a higher
 * score costs less ({@link #costOfScore}). An open-addressing hash table on primitive longs, since
 * it is looked up several million times per megabyte of text.
 */
final class MergeTable {
    static final long NONE = Long.MIN_VALUE;

    private long[] keys;
    private long[] values;
    private int size;
    private int mask;

    MergeTable(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        java.util.Arrays.fill(keys, -1L);
        mask = capacity - 1;
    }

    /** The id of a token named by a merge rule, or an error naming the rule. */
    static int tokenOf(Path source, Map<String, Integer> vocab, String[] merge, String token, int rank) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new FormatException(source, "merge rule " + (rank + 1) + " '" + merge[0] + " " + merge[1]
                    + "' refers to '" + token + "', which is not in the vocabulary");
        }
        return id;
    }

    /** A cost that orders scores from highest to lowest (so that higher scores merge first). */
    static int costOfScore(float score) {
        int bits = Float.floatToIntBits(score + 0.0f); // -0.0 and 0.0 tie, as they do in C
        int ascending = bits ^ ((bits >> 31) & 0x7fffffff);
        return ~ascending;
    }

    /** Adds a rule unless the pair already has one (the first rule for a pair wins). */
    void putIfAbsent(int left, int right, int merged, int cost) {
        long key = key(left, right);
        int slot = slot(key);
        while (keys[slot] != -1L) {
            if (keys[slot] == key) {
                return;
            }
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = (long) merged << 32 | (cost & 0xffffffffL);
        if (++size * 2 > keys.length) {
            grow();
        }
    }

    /** {@code merged << 32 | cost}, or {@link #NONE}. */
    long get(int left, int right) {
        if (left < 0 || right < 0) {
            return NONE;
        }
        long key = key(left, right);
        int slot = slot(key);
        long k;
        while ((k = keys[slot]) != -1L) {
            if (k == key) {
                return values[slot];
            }
            slot = (slot + 1) & mask;
        }
        return NONE;
    }

    static int merged(long rule) {
        return (int) (rule >> 32);
    }

    static int cost(long rule) {
        return (int) rule;
    }

    private static long key(int left, int right) {
        return (long) left << 32 | (right & 0xffffffffL);
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    private void grow() {
        long[] oldKeys = keys, oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldKeys.length * 2];
        java.util.Arrays.fill(keys, -1L);
        mask = keys.length - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != -1L) {
                int slot = slot(oldKeys[i]);
                while (keys[slot] != -1L) {
                    slot = (slot + 1) & mask;
                }
                keys[slot] = oldKeys[i];
                values[slot] = oldValues[i];
            }
        }
    }
}

package io.nashswarm.tokenizer;

import java.util.Arrays;

/** A set of longs (pairs of code points) without boxing. */
final class LongSet {
    private static final long EMPTY = Long.MIN_VALUE;
    private long[] keys = new long[1024];
    private int size;

    static long pair(int a, int b) {
        return (long) a << 32 | (b & 0xffffffffL);
    }

    LongSet() {
        Arrays.fill(keys, EMPTY);
    }

    void add(long key) {
        int mask = keys.length - 1;
        int slot = slot(key, mask);
        while (keys[slot] != EMPTY) {
            if (keys[slot] == key) {
                return;
            }
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        if (++size * 2 > keys.length) {
            long[] old = keys;
            keys = new long[old.length * 2];
            Arrays.fill(keys, EMPTY);
            size = 0;
            for (long k : old) {
                if (k != EMPTY) {
                    add(k);
                }
            }
        }
    }

    boolean contains(long key) {
        int mask = keys.length - 1;
        int slot = slot(key, mask);
        long k;
        while ((k = keys[slot]) != EMPTY) {
            if (k == key) {
                return true;
            }
            slot = (slot + 1) & mask;
        }
        return false;
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 31)) & mask;
    }
}

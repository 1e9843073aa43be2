package io.nashswarm.tokenizer;

/**
 * The BPE merge loop shared by every tokenizer here: repeatedly merge the adjacent pair whose rule
 * has the lowest cost, the leftmost one on ties, until no adjacent pair has a rule. That is
 * SentencePiece's and llama2.c's "highest score, leftmost first" and Hugging Face's / OpenAI's
 * "lowest rank first" alike. A heap of candidate pairs makes it O(n log n) instead of the
 * O(n²) rescan of llama2.c's run.c, with the same result: a popped candidate is used only if the
 * pair now at that position still has exactly that cost, and every pair that appears after a
 * merge is pushed, so each merge taken is the lowest-cost leftmost one at that moment.
 */
final class BpeMerger {
    private BpeMerger() {}

    /** Told about each candidate pair as it is found (SentencePiece's resegmentation needs that). */
    interface CandidateListener {
        void candidate(int merged, int left, int right);
    }

    /**
     * Merges {@code ids[0..n)} in place and returns the new length.
     *
     * @param frozen   per initial position, symbols that never merge (may be null)
     * @param listener may be null
     */
    static int merge(int[] ids, int n, MergeTable rules, boolean[] frozen, CandidateListener listener) {
        if (n < 2) {
            return n;
        }
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        Heap heap = new Heap(n);
        for (int i = 0; i + 1 < n; i++) {
            offer(heap, ids, i, i + 1, rules, frozen, listener);
        }
        while (!heap.isEmpty()) {
            long top = heap.poll();
            int left = (int) top;
            int cost = (int) (top >> 32);
            if (prev[left] == -2) {
                continue; // absorbed into its left neighbour
            }
            int right = next[left];
            if (right < 0) {
                continue;
            }
            long rule = rules.get(ids[left], ids[right]);
            if (rule == MergeTable.NONE || MergeTable.cost(rule) != cost) {
                continue; // stale: the pair at this position changed since it was offered
            }
            ids[left] = MergeTable.merged(rule);
            int after = next[right];
            next[left] = after;
            if (after >= 0) {
                prev[after] = left;
            }
            prev[right] = -2;
            if (prev[left] >= 0) {
                offer(heap, ids, prev[left], left, rules, frozen, listener);
            }
            if (after >= 0) {
                offer(heap, ids, left, after, rules, frozen, listener);
            }
        }
        int m = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            ids[m++] = ids[i];
        }
        return m;
    }

    private static void offer(Heap heap, int[] ids, int left, int right, MergeTable rules, boolean[] frozen,
                              CandidateListener listener) {
        if (frozen != null && (frozen[left] || frozen[right])) {
            return;
        }
        long rule = rules.get(ids[left], ids[right]);
        if (rule != MergeTable.NONE) {
            if (listener != null) {
                listener.candidate(MergeTable.merged(rule), ids[left], ids[right]);
            }
            heap.add((long) MergeTable.cost(rule) << 32 | left);
        }
    }

    /** A binary min-heap of longs: (cost << 32 | position) orders by cost, then leftmost. */
    private static final class Heap {
        private long[] a;
        private int size;

        Heap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long v) {
            if (size == a.length) {
                a = java.util.Arrays.copyOf(a, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (a[parent] <= v) {
                    break;
                }
                a[i] = a[parent];
                i = parent;
            }
            a[i] = v;
        }

        long poll() {
            long top = a[0];
            long last = a[--size];
            int i = 0;
            int half = size >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                if (child + 1 < size && a[child + 1] < a[child]) {
                    child++;
                }
                if (last <= a[child]) {
                    break;
                }
                a[i] = a[child];
                i = child;
            }
            a[i] = last;
            return top;
        }
    }
}

package io.nashswarm.tensor;

import java.util.ArrayList;

/**
 * A thread's working arrays for the integer kernels: its last batch-1 quantized input ({@link SplitInput}, {@link
 * LutInput}) per kind of input, and the kernels' accumulators. An input of fewer columns than the kept one's arrays
 * hold is made into them: a mixed matrix's parts per width ({@link MixedColumns}) have as many column counts as
 * matrices, and keyed by column count too a per-column Llama-3.2-1B model kept a few hundred inputs (1.3 MB of heap
 * more, measured). So decode quantizes each input into arrays it already has and allocates nothing per product once the
 * widest input of each kind was seen: 9 KB (SplitInput) or 35 KB (LutInput) per product and thread otherwise, which
 * filled the young generation every 2-3 s and paused decode 4-40 ms under ParallelGC. Products never run nested on one
 * thread, so a thread's arrays are used by one product at a time.
 */
final class ThreadInputs {
    private static final ThreadLocal<ThreadInputs> MINE = ThreadLocal.withInitial(ThreadInputs::new);

    private final ArrayList<Slot> slots = new ArrayList<>();
    /** The input of the current {@link #share}, or null; and the number of shares so far on this thread. */
    private float[] shared;
    private long sharing;
    private float[] acc = new float[0];
    /** An array for one {@link SplitInput}, the same for every call on this thread. */
    final SplitInput[] oneSplit = new SplitInput[1];

    private ThreadInputs() {}

    static ThreadInputs mine() {
        return MINE.get();
    }

    /** Quantizes {@code x[off .. off + cols)} into an input, into {@code reuse}'s arrays where they have its shape (null: new ones). */
    interface Maker<T> {
        T make(float[] x, int off, int cols, T reuse);
    }

    /**
     * The input {@code make} builds from {@code x[off .. off + cols)}: at batch 1 ({@code n == 1}, decode) into the arrays of
     * this thread's last input kept under {@code key} (the caller's kind of input) where they hold {@code cols} values,
     * which it then replaces; for a batch, new arrays (several inputs are alive at once).
     */
    static <T> T input(long key, float[] x, int off, int cols, int n, Maker<T> make) {
        if (n != 1) {
            return make.make(x, off, cols, null);
        }
        ThreadInputs me = mine();
        Slot kept = me.slot(key);
        @SuppressWarnings("unchecked")
        T last = (T) kept.input;
        if (last != null && x == me.shared && kept.sharing == me.sharing && kept.off == off && kept.cols == cols) {
            return last; // made from this very input earlier in the same share()
        }
        T in = make.make(x, off, cols, last);
        kept.input = in;
        kept.off = off;
        kept.cols = cols;
        kept.sharing = x == me.shared ? me.sharing : -1;
        return in;
    }

    /**
     * Until {@link #unshare}, this thread's products read {@code x} unchanged: an input made from it is made once, and
     * later products of the same kind and width take it as it is ({@link ParallelProducts#matmul(WeightMatrix[], float[],
     * float[][], int)}). Each call starts afresh, so an input kept from an earlier share (other values in the same array)
     * is made again.
     */
    static void share(float[] x) {
        ThreadInputs me = mine();
        me.shared = x;
        me.sharing++;
    }

    static void unshare() {
        mine().shared = null;
    }

    /**
     * The slot of the input kept under {@code key} (the caller's kind of input), made empty on first use: its {@code
     * input} lends its arrays to the next input of that kind, which then takes its place.
     */
    private Slot slot(long key) {
        for (int i = 0; i < slots.size(); i++) { // indexed: an iterator would be allocated per product
            Slot s = slots.get(i);
            if (s.key == key) {
                return s;
            }
        }
        Slot s = new Slot(key);
        slots.add(s);
        return s;
    }

    /** Accumulators of at least {@code length} floats, the same array for every call on this thread. */
    float[] acc(int length) {
        if (acc.length < length) {
            acc = new float[length];
        }
        return acc;
    }

    private static final class Slot {
        private final long key;
        /** The last input kept here, or null. */
        Object input;
        /** Where in its array it was made from, of how many columns, and during which {@link ThreadInputs#share} (its count; −1: none). */
        int off, cols;
        long sharing = -1;

        private Slot(long key) {
            this.key = key;
        }
    }
}

package io.nashswarm.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batched products (prefill, perplexity) as a float matrix product on dequantized panels, as BLAS libraries and llama.cpp's
 * CPU GEMMs block them: a panel is {@link #ROWS} rows × {@link #COLS} columns of the weights, dequantized once into
 * floats with the rows side by side per column ({@code panel[c·ROWS + i]}), and {@link #INPUTS} inputs at a time
 * accumulate {@code ROWS × INPUTS} sums in twelve vector registers: per column two panel loads, six broadcasts of the
 * inputs' values and twelve FMAs, with no lane reductions. Each weight is decoded once per batch instead of once per input,
 * and the FMAs take 16 weight-input products each, where the 16-bit integer kernels ({@link ByteRowKernels}) take about
 * seven operations per 64. The products are float products of the dequantized weights, so a batch is more exact than
 * the integer kernels' quantized inputs (the float64 error bound: float rounding of each sum).
 */
final class PanelProducts {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Rows per panel: two float vectors. */
    static final int ROWS = 2 * F.length();
    /** Columns per panel: 256 (32 KB of floats with 512-bit vectors: the L1 data cache keeps it). */
    static final int COLS = 256;
    /** Inputs per kernel call: 2 × 6 accumulators, 2 panel vectors and the broadcasts fit AVX-512's 32 registers. */
    static final int INPUTS = 6;

    private PanelProducts() {}

    /** The weights a panel is made from. */
    interface Source {
        /**
         * Writes rows [r, r + {@link #ROWS}) × columns [c0, c1) dequantized: {@code panel[(c − c0)·ROWS + i]} = weight (r + i, c);
         * r is a multiple of {@link #ROWS}; rows past the matrix are zeros.
         */
        void fill(int r, int c0, int c1, float[] panel);
    }

    /** A thread's panel. */
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[ROWS * COLS]);

    /**
     * {@code y[b·rows + r] = row r · x[b·cols ..]} for rows r0..r1 and inputs b < n; the source fills whole panels at
     * multiples of {@link #ROWS} (its padded rows hold zeros).
     */
    static void products(Source w, int rows, int cols, float[] x, int n, float[] y, int r0, int r1) {
        if (r0 >= r1) {
            return;
        }
        float[] panel = PANEL.get();
        // columns outer: the inputs' slice of a chunk (64 inputs × 1 KB) stays in L2 while every row panel takes it
        for (int c0 = 0; c0 < cols; c0 += COLS) {
            int c1 = Math.min(cols, c0 + COLS);
            for (int r = r0 - r0 % ROWS; r < r1; r += ROWS) { // panels at multiples of ROWS; the first may start before r0
                int lo = Math.max(0, r0 - r), valid = Math.min(ROWS, r1 - r);
                w.fill(r, c0, c1, panel);
                for (int b = 0; b < n; b += INPUTS) {
                    kernel(panel, c1 - c0, x, c0, cols, b, Math.min(INPUTS, n - b), y, rows, r, lo, valid, c0 == 0);
                }
            }
        }
    }

    /**
     * Inputs b..b+m (m ≤ 6; the missing ones repeat the last, computed and not stored) times the panel's columns
     * [c0, c0 + len): their sums stored ({@code first}) or added into y's rows [r + lo, r + valid).
     */
    private static void kernel(float[] p, int len, float[] x, int c0, int cols, int b, int m, float[] y, int rows, int r, int lo, int valid,
                               boolean first) {
        float[] sums = SUMS.get();
        int last = b + m - 1;
        sums(p, len, x, b * cols + c0, Math.min(b + 1, last) * cols + c0, Math.min(b + 2, last) * cols + c0,
                Math.min(b + 3, last) * cols + c0, Math.min(b + 4, last) * cols + c0, Math.min(b + 5, last) * cols + c0, sums);
        for (int k = 0; k < m; k++) {
            int at = (b + k) * rows + r;
            if (lo == 0 && valid == ROWS && !first) {
                for (int i = 0; i < ROWS; i += F.length()) {
                    FloatVector.fromArray(F, sums, k * ROWS + i).add(FloatVector.fromArray(F, y, at + i)).intoArray(y, at + i);
                }
            } else if (first) {
                System.arraycopy(sums, k * ROWS + lo, y, at + lo, valid - lo);
            } else {
                for (int i = lo; i < valid; i++) {
                    y[at + i] += sums[k * ROWS + i];
                }
            }
        }
    }

    /** A thread's sums of one kernel call: {@link #INPUTS} × {@link #ROWS}. */
    private static final ThreadLocal<float[]> SUMS = ThreadLocal.withInitial(() -> new float[INPUTS * ROWS]);

    /**
     * {@code sums[k·ROWS + i]} = Σ_c panel[c·ROWS + i]·x[o_k + c] for c < len and the six inputs at o0..o5: twelve
     * accumulators, no lane reductions. Kept this small on purpose: with the stores into y inside it as well, C1 ran out of
     * registers compiling it ("COMPILE SKIPPED: out of virtual registers"), and without C1's profile the method ran
     * interpreted for minutes.
     */
    private static void sums(float[] p, int len, float[] x, int o0, int o1, int o2, int o3, int o4, int o5, float[] sums) {
        int l = F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector e0 = a0, e1 = a0, e2 = a0, e3 = a0, e4 = a0, e5 = a0;
        for (int c = 0; c < len; c++) {
            FloatVector w0 = FloatVector.fromArray(F, p, c * ROWS), w1 = FloatVector.fromArray(F, p, c * ROWS + l);
            FloatVector v = FloatVector.broadcast(F, x[o0 + c]);
            a0 = w0.fma(v, a0);
            e0 = w1.fma(v, e0);
            v = FloatVector.broadcast(F, x[o1 + c]);
            a1 = w0.fma(v, a1);
            e1 = w1.fma(v, e1);
            v = FloatVector.broadcast(F, x[o2 + c]);
            a2 = w0.fma(v, a2);
            e2 = w1.fma(v, e2);
            v = FloatVector.broadcast(F, x[o3 + c]);
            a3 = w0.fma(v, a3);
            e3 = w1.fma(v, e3);
            v = FloatVector.broadcast(F, x[o4 + c]);
            a4 = w0.fma(v, a4);
            e4 = w1.fma(v, e4);
            v = FloatVector.broadcast(F, x[o5 + c]);
            a5 = w0.fma(v, a5);
            e5 = w1.fma(v, e5);
        }
        a0.intoArray(sums, 0);
        e0.intoArray(sums, l);
        a1.intoArray(sums, ROWS);
        e1.intoArray(sums, ROWS + l);
        a2.intoArray(sums, 2 * ROWS);
        e2.intoArray(sums, 2 * ROWS + l);
        a3.intoArray(sums, 3 * ROWS);
        e3.intoArray(sums, 3 * ROWS + l);
        a4.intoArray(sums, 4 * ROWS);
        e4.intoArray(sums, 4 * ROWS + l);
        a5.intoArray(sums, 5 * ROWS);
        e5.intoArray(sums, 5 * ROWS + l);
    }
}

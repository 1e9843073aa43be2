package io.nashswarm.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batched products (prefill, perplexity) as a float matrix product on dequantized panels, as BLAS libraries and llama.cpp's
 * CPU GEMMs block them: a panel is {@link #ROWS} rows × {@link #COLS} columns of the weights, dequantized once into
 * floats with the rows side by side per column ({@code panel[c·ROWS + i]}), and {@link #INPUTS} inputs at a time
 * accumulate {@code ROWS × INPUTS} sums in sixteen vector registers: per column two panel loads, eight broadcasts of the
 * inputs' values and sixteen FMAs, with no lane reductions. Each weight is decoded once per batch instead of once per input,
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
    /** Inputs per kernel call: 2 × 8 accumulators, 2 panel vectors and a broadcast fit AVX-512's 32 registers (6 ran 5-10% slower on one thread). */
    static final int INPUTS = 8;

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
     * Inputs b..b+m (m ≤ 8; the missing ones repeat the last, computed and not stored) times the panel's columns
     * [c0, c0 + len): their sums stored ({@code first}) or added into y's rows [r + lo, r + valid).
     */
    private static void kernel(float[] p, int len, float[] x, int c0, int cols, int b, int m, float[] y, int rows, int r, int lo, int valid,
                               boolean first) {
        float[] sums = SUMS.get();
        int last = b + m - 1;
        sums(p, len, x, b * cols + c0, Math.min(b + 1, last) * cols + c0, Math.min(b + 2, last) * cols + c0,
                Math.min(b + 3, last) * cols + c0, Math.min(b + 4, last) * cols + c0, Math.min(b + 5, last) * cols + c0,
                Math.min(b + 6, last) * cols + c0, Math.min(b + 7, last) * cols + c0, sums);
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
     * {@code sums[k·ROWS + i]} = Σ_c panel[c·ROWS + i]·x[o_k + c] for c < len and the eight inputs at o0..o7: sixteen
     * accumulators, no lane reductions. Kept this small on purpose: with the stores into y inside it as well, C1 ran out of
     * registers compiling it ("COMPILE SKIPPED: out of virtual registers"), and without C1's profile the method ran
     * interpreted for minutes.
     */
    private static void sums(float[] p, int len, float[] x, int o0, int o1, int o2, int o3, int o4, int o5, int o6, int o7, float[] sums) {
        int l = F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector e0 = a0, e1 = a0, e2 = a0, e3 = a0, e4 = a0, e5 = a0, e6 = a0, e7 = a0;
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
            v = FloatVector.broadcast(F, x[o6 + c]);
            a6 = w0.fma(v, a6);
            e6 = w1.fma(v, e6);
            v = FloatVector.broadcast(F, x[o7 + c]);
            a7 = w0.fma(v, a7);
            e7 = w1.fma(v, e7);
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
        a6.intoArray(sums, 6 * ROWS);
        e6.intoArray(sums, 6 * ROWS + l);
        a7.intoArray(sums, 7 * ROWS);
        e7.intoArray(sums, 7 * ROWS + l);
    }

    /** Rows of weights decoded as they are stored, row-major, for {@link #rowProducts}. */
    interface RowChunks {
        /** Writes rows [r, r + count) × columns [c0, c0 + len) as floats: {@code out[i·len + c]} = weight (r + i, c0 + c). */
        void chunk(int r, int count, int c0, int len, float[] out);
    }

    /** The smallest batch that takes {@link #rowProducts} (the dense types' 1 × 4 dots reached about 51 GMAC/s at 1B shapes). */
    static final int ROW_BATCH = 16;

    /**
     * Columns per {@link #rowProducts} chunk: 1024 (the transposed inputs of 64 inputs, 256 KB, stay in L2; each row's piece
     * is 4 KB of f32, long enough a run for the prefetchers; with 256 a 2048x2048 product ran at 21 GMAC/s).
     */
    static final int ROW_COLS = 1024;

    /** Rows per {@link #rowProducts} step: six broadcast weights against two vectors of 16 inputs fill 12 accumulators. */
    static final int ROW_STEP = 6;

    /** A thread's transposed inputs, decoded weights and sums ({@link #rowProducts}). */
    private static final ThreadLocal<float[][]> ROW_SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[ROW_STEP * ROW_COLS],
            new float[ROW_STEP * 2 * 16]});

    /**
     * {@code y[b·rows + r] = row r · x[b·cols ..]} for rows r0..r1 and inputs b < n, with the roles of {@link #products}
     * swapped, for weights stored row by row (f32, f16, bf16): the inputs are transposed once per call, {@code xt[c·N + b]}
     * (N = n rounded up to two vectors, the rest zeros), and six rows' weights of a chunk of 256 columns, decoded into floats,
     * are broadcast against two vectors of inputs: per column two loads, six broadcasts and twelve FMAs. No weight is
     * transposed, so any row decoder serves.
     */
    static void rowProducts(RowChunks w, int rows, int cols, float[] x, int n, float[] y, int r0, int r1) {
        if (r0 >= r1) {
            return;
        }
        int l = F.length(), pair = 2 * l, nn = (n + pair - 1) / pair * pair;
        float[][] scratch = ROW_SCRATCH.get();
        if (scratch[0].length < ROW_COLS * nn) {
            scratch[0] = new float[ROW_COLS * nn];
        }
        float[] xt = scratch[0], wr = scratch[1], sums = scratch[2];
        if (sums.length < ROW_STEP * pair) {
            scratch[2] = sums = new float[ROW_STEP * pair];
        }
        for (int c0 = 0; c0 < cols; c0 += ROW_COLS) {
            int len = Math.min(ROW_COLS, cols - c0);
            for (int c = 0; c < len; c++) { // this chunk's inputs, transposed: stays in L2 while every row takes it
                int at = c * nn;
                for (int b = 0; b < n; b++) {
                    xt[at + b] = x[b * cols + c0 + c];
                }
                java.util.Arrays.fill(xt, at + n, at + nn, 0f);
            }
            for (int r = r0; r < r1; r += ROW_STEP) {
                int count = Math.min(ROW_STEP, r1 - r);
                w.chunk(r, count, c0, len, wr);
                if (count < ROW_STEP) {
                    java.util.Arrays.fill(wr, count * len, ROW_STEP * len, 0f);
                }
                for (int b = 0; b < nn; b += pair) {
                    rowSums(wr, len, xt, nn, b, sums);
                    for (int i = 0; i < count; i++) {
                        for (int k = 0; k < pair && b + k < n; k++) {
                            int at = (b + k) * rows + r + i;
                            y[at] = c0 == 0 ? sums[i * pair + k] : y[at] + sums[i * pair + k];
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code sums[i·2L + k]} = Σ_c wr[i·len + c]·xt[c·nn + b + k] for the six rows i and inputs k < 2L (L lanes): twelve
     * accumulators, as small as {@link #sums} for the same reason.
     */
    private static void rowSums(float[] wr, int len, float[] xt, int nn, int b, float[] sums) {
        int l = F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector e0 = a0, e1 = a0, e2 = a0, e3 = a0, e4 = a0, e5 = a0;
        for (int c = 0; c < len; c++) {
            FloatVector v0 = FloatVector.fromArray(F, xt, c * nn + b), v1 = FloatVector.fromArray(F, xt, c * nn + b + l);
            FloatVector w = FloatVector.broadcast(F, wr[c]);
            a0 = w.fma(v0, a0);
            e0 = w.fma(v1, e0);
            w = FloatVector.broadcast(F, wr[len + c]);
            a1 = w.fma(v0, a1);
            e1 = w.fma(v1, e1);
            w = FloatVector.broadcast(F, wr[2 * len + c]);
            a2 = w.fma(v0, a2);
            e2 = w.fma(v1, e2);
            w = FloatVector.broadcast(F, wr[3 * len + c]);
            a3 = w.fma(v0, a3);
            e3 = w.fma(v1, e3);
            w = FloatVector.broadcast(F, wr[4 * len + c]);
            a4 = w.fma(v0, a4);
            e4 = w.fma(v1, e4);
            w = FloatVector.broadcast(F, wr[5 * len + c]);
            a5 = w.fma(v0, a5);
            e5 = w.fma(v1, e5);
        }
        int p = 2 * l;
        a0.intoArray(sums, 0);
        e0.intoArray(sums, l);
        a1.intoArray(sums, p);
        e1.intoArray(sums, p + l);
        a2.intoArray(sums, 2 * p);
        e2.intoArray(sums, 2 * p + l);
        a3.intoArray(sums, 3 * p);
        e3.intoArray(sums, 3 * p + l);
        a4.intoArray(sums, 4 * p);
        e4.intoArray(sums, 4 * p + l);
        a5.intoArray(sums, 5 * p);
        e5.intoArray(sums, 5 * p + l);
    }
}

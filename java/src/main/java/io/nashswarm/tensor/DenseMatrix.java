package io.nashswarm.tensor;

import io.nashswarm.kernel.HugePages;
import io.nashswarm.kernel.Vectors;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Shared shape bookkeeping and loop structure of the element-per-value (unquantized) matrices. The
 * subclasses supply four small Vector API kernels over contiguous runs of stored elements; this class
 * decides which run each call covers.
 *
 * <p>The products read rows (an IN_OUT matrix is transposed once first, {@link #prepare}). Batches read each weight
 * once for many inputs: rows broadcast against transposed inputs ({@link PanelProducts#rowProducts}; below
 * {@link PanelProducts#ROW_BATCH} inputs, four inputs per row dot).
 */
abstract sealed class DenseMatrix implements SegmentMatrix permits F32Matrix, F16Matrix, BF16Matrix {
    /** Input vectors one kernel call serves; the kernels are written for exactly this many. */
    static final int TILE = 4;

    /**
     * The stored elements: the loaded bytes (often a file mapping), until {@link #prepare} replaces them with a copy on
     * huge pages. Not volatile: the copy is written before it is published, and a thread that still sees the mapping
     * reads the same values from it.
     */
    MemorySegment data;
    final int rows;
    final int cols;
    /** How data is ordered: IN_OUT only until {@link #prepare} transposes it. */
    Layout layout;
    /**
     * Whether {@link #prepare} has run (or had nothing to do): the products read rows. Volatile: a product that reads
     * true also sees the data and layout that prepare wrote before it.
     */
    private volatile boolean rowMajor;

    DenseMatrix(MemorySegment data, int rows, int cols, Layout layout) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape " + rows + "x" + cols);
        }
        long need = type().bytesFor((long) rows * cols);
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(type().label() + " " + rows + "x" + cols + " needs " + need + " bytes, got " + data.byteSize());
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.layout = Objects.requireNonNull(layout);
        this.rowMajor = layout == Layout.OUT_IN && !(data.isMapped() && data.byteSize() >= HUGE_COPY_MIN);
    }

    /**
     * Makes the copy the products read, once (at load, or else at the first product, the other threads waiting).
     *
     * <p>A matrix read from a file mapping of at least {@link #HUGE_COPY_MIN} bytes is copied onto huge pages ({@link
     * HugePages}) and the mapping's pages are released, as the quantized types' repacked copies are. Why: decode streams
     * every product's weights from DRAM once per token, and on the mapping's 4 KiB pages the streams stall on TLB misses:
     * F32 at stories110M shapes decoded 52.1–53.2 tok/s from the mapping and 57.6–58.1 from the copy, in one alternating
     * run (bench/results/dense-huge-pages-2026-12-04.md).
     *
     * <p>An IN_OUT matrix (GPT-2's Conv1D weights as Hugging Face stores them) is transposed into that copy, whatever its
     * size, so that every product reads rows, as llama.cpp's converter transposes them once. Read in place, a decode step
     * split by output rows gave each thread half of every stored input row, short runs that the prefetchers restart on:
     * HF GPT-2 124M f32 decoded 44–52 tok/s against 94 for the same shapes stored row by row
     * (bench/results/in-out-2026-12-05.md).
     */
    @Override
    public synchronized void prepare() {
        if (rowMajor) {
            return;
        }
        MemorySegment stored = data;
        if (layout == Layout.IN_OUT) {
            MemorySegment copy = HugePages.allocate(stored.byteSize());
            transpose(stored, copy, cols, rows, (int) (type().bytesFor(1)));
            BitPlanes.track(this, copy.byteSize());
            data = copy;
            layout = Layout.OUT_IN;
            if (stored.isMapped()) {
                stored.unload();
            }
        } else if (stored.isMapped() && stored.byteSize() >= HUGE_COPY_MIN) {
            MemorySegment copy = HugePages.allocate(stored.byteSize()).copyFrom(stored);
            BitPlanes.track(this, copy.byteSize());
            data = copy;
            stored.unload();
        }
        rowMajor = true;
    }

    /** Tiles of {@link #transpose}: 64 runs of 64 elements, 16 KB of f32 in and out. */
    private static final int TRANSPOSE_TILE = 64;

    /** {@code to} = {@code from} transposed: from is {@code n} rows of {@code m} elements of {@code size} bytes (2 or 4). */
    static void transpose(MemorySegment from, MemorySegment to, int n, int m, int size) {
        int t = TRANSPOSE_TILE;
        int[] in = new int[t * t], out = new int[t * t];
        short[] hin = new short[t * t], hout = new short[t * t];
        for (int i0 = 0; i0 < n; i0 += t) {
            int ni = Math.min(t, n - i0);
            for (int j0 = 0; j0 < m; j0 += t) {
                int nj = Math.min(t, m - j0);
                for (int i = 0; i < ni; i++) { // rows i0.. of from, columns j0..
                    long at = ((long) (i0 + i) * m + j0) * size;
                    if (size == 4) {
                        MemorySegment.copy(from, java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at, in, i * t, nj);
                    } else {
                        MemorySegment.copy(from, java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at, hin, i * t, nj);
                    }
                }
                for (int j = 0; j < nj; j++) {
                    for (int i = 0; i < ni; i++) {
                        if (size == 4) {
                            out[j * t + i] = in[i * t + j];
                        } else {
                            hout[j * t + i] = hin[i * t + j];
                        }
                    }
                }
                for (int j = 0; j < nj; j++) { // rows j0.. of to, columns i0..
                    long at = ((long) (j0 + j) * n + i0) * size;
                    if (size == 4) {
                        MemorySegment.copy(out, j * t, to, java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at, ni);
                    } else {
                        MemorySegment.copy(hout, j * t, to, java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at, ni);
                    }
                }
            }
        }
    }

    /** The smallest mapped matrix {@link #prepare} copies: one huge page. */
    static final long HUGE_COPY_MIN = 1L << 21;

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long storageBytes() { return data.byteSize(); }
    /** How {@link #data} is ordered: IN_OUT as loaded, OUT_IN once {@link #prepare} has transposed it. */
    public synchronized Layout layout() { return layout; }
    public synchronized MemorySegment data() { return data; }

    /** Element {@code index} (in storage order) as float; the scalar path for remainders. */
    abstract float get(long index);

    /**
     * Rows [r, r + count) × columns [c0, c0 + len) of an OUT_IN matrix as floats, row-major into {@code out}
     * ({@link PanelProducts#rowProducts}): f32 copied, f16 and bf16 converted ({@link #chunkOfHalves}).
     */
    abstract void chunk(int r, int count, int c0, int len, float[] out);

    /** A thread's row of stored 16-bit elements for {@link #chunkOfHalves}. */
    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[0]);

    /** {@link #chunk} for 16-bit elements: IEEE halves, or bf16 ({@code brain}), converted in plain loops that C2 vectorizes. */
    final void chunkOfHalves(int r, int count, int c0, int len, float[] out, java.lang.foreign.ValueLayout.OfShort le, boolean brain) {
        short[] h = HALVES.get();
        if (h.length < len) {
            HALVES.set(h = new short[len]);
        }
        for (int i = 0; i < count; i++) {
            MemorySegment.copy(data, le, ((long) (r + i) * cols + c0) * Short.BYTES, h, 0, len);
            int o = i * len;
            if (brain) {
                for (int c = 0; c < len; c++) {
                    out[o + c] = Float.intBitsToFloat(h[c] << 16);
                }
            } else {
                Vectors.fromHalves(h, 0, out, o, len);
            }
        }
    }

    /** Sum over j < len of W[w + j]·x[x0 + j]. */
    abstract float dot(long w, int len, float[] x, int x0);

    /**
     * y[y0] and y[y0 + 1]: two consecutive rows' dots, {@code W[w ..+ len)} and {@code W[w + len ..+ len)}, with x, the
     * rows read side by side (batch-1 products stream faster so: see F32Matrix).
     */
    abstract void dot2(long w, int len, float[] x, int x0, float[] y, int y0);

    /** Four consecutive rows' dots with x, into y[y0 ..+ 4) (F32 reads them side by side; the others as two pairs). */
    void dot4rows(long w, int len, float[] x, int x0, float[] y, int y0) {
        dot2(w, len, x, x0, y, y0);
        dot2(w + 2L * len, len, x, x0, y, y0 + 2);
    }

    /** y[y0 + k·ys] = sum over j < len of W[w + j]·x[x0 + k·xs + j], for k = 0..3. */
    abstract void dot4(long w, int len, float[] x, int x0, int xs, float[] y, int y0, int ys);

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        matmul(x, y, 1, rowStart, rowEnd);
    }

    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        checkProduct(this, x, y, n, rowStart, rowEnd);
        if (!rowMajor) {
            prepare();
        }
        if (n == 1) {
            int r = rowStart;
            for (; r + 3 < rowEnd; r += 4) {
                dot4rows((long) r * cols, cols, x, 0, y, r);
            }
            for (; r + 1 < rowEnd; r += 2) {
                dot2((long) r * cols, cols, x, 0, y, r);
            }
            if (r < rowEnd) {
                y[r] = dot((long) r * cols, cols, x, 0);
            }
            return;
        }
        if (n >= PanelProducts.ROW_BATCH) {
            PanelProducts.rowProducts(this::chunk, rows, cols, x, n, y, rowStart, rowEnd);
            return;
        }
        // (Two rows per pass for batches, sharing the input loads, measured slower: register pressure.)
        for (int r = rowStart; r < rowEnd; r++) {
            long w = (long) r * cols;
            int b = 0;
            for (; b + TILE <= n; b += TILE) {
                dot4(w, cols, x, b * cols, cols, y, b * rows + r, rows);
            }
            for (; b < n; b++) {
                y[b * rows + r] = dot(w, cols, x, b * cols);
            }
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, out.length);
        if (rowMajor) {
            rowOf(r, out, off);
        } else {
            synchronized (this) { // not while prepare moves the data
                rowOf(r, out, off);
            }
        }
    }

    private void rowOf(int r, float[] out, int off) {
        if (layout == Layout.OUT_IN) {
            long w = (long) r * cols;
            for (int c = 0; c < cols; c++) {
                out[off + c] = get(w + c);
            }
        } else {
            for (int c = 0; c < cols; c++) {
                out[off + c] = get((long) c * rows + r);
            }
        }
    }

    /** Validates a {@code matmul}/{@code matvec} call's arguments once, before any kernel runs. */
    static void checkProduct(WeightMatrix w, float[] x, float[] y, int n, int rowStart, int rowEnd) {
        Objects.checkFromToIndex(rowStart, rowEnd, w.rows());
        if (n < 0) {
            throw new IllegalArgumentException("negative batch " + n);
        }
        if (x.length < (long) n * w.cols()) {
            throw new IllegalArgumentException("x holds " + x.length + " floats, " + n + " vectors of " + w.cols() + " need " + (long) n * w.cols());
        }
        if (y.length < (long) n * w.rows()) {
            throw new IllegalArgumentException("y holds " + y.length + " floats, " + n + " vectors of " + w.rows() + " need " + (long) n * w.rows());
        }
    }
}

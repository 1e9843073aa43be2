package io.nashswarm.tensor;

import io.nashswarm.kernel.Vectors;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

import static io.nashswarm.kernel.Vectors.B;
import static io.nashswarm.kernel.Vectors.BYTE_PARTS;
import static io.nashswarm.kernel.Vectors.L;

/**
 * The llama.cpp block types beyond Q8_0/Q4_0 (Q4_1, Q5_0/1, the K-quants, IQ4_NL/XS): rows of blocks
 * of {@code blockSize} weights, each block split into sub-blocks of {@link #sub} weights that share a
 * scale and (for some types) a minimum, so that every weight is {@code scale·q − min} with a small
 * integer code {@code q}.
 *
 * <p>A subclass only says how its block's bytes become codes and per-sub-block scales/minimums
 * ({@link #decodeBlock}, written with 16-byte vector operations on the mapped block). This class turns
 * one row at a time into floats in a row-sized scratch array (one vector FMA per lane) and takes the
 * products from there, so the weights are read once per row and batch and never copied as a matrix.
 * The K-quants (Q2_K to Q6_K) take the 16-bit product kernels instead ({@link #makeByteRows}), Q4_1, Q5_0 and Q5_1 the
 * table-lookup kernels ({@link #lookupBits}) where 512-bit vectors run them; IQ4_NL and IQ4_XS stay on the blocks as
 * they are (README › Kernels).
 */
public abstract class GgmlBlockMatrix implements SegmentMatrix {
    static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** The species of the block decoders: 16 byte lanes (one SSE/NEON register; nibble tables fit it). */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);

    private final QuantType type;
    final MemorySegment data;
    final int rows, cols;
    /** Weights per sub-block (one scale and minimum each); a multiple of {@link Vectors#B}'s length. */
    final int sub;
    final int blocks;
    final long rowBytes;
    /** The copies for the 16-bit product and the lookup kernels, made at the first product. */
    private final FirstUseCopy<ByteRows> byteRows;
    private final FirstUseCopy<BitPlanes> lookup;

    GgmlBlockMatrix(QuantType type, MemorySegment data, int rows, int cols, int sub) {
        if (rows < 0 || cols < 0 || cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(type.label() + " rows must be whole blocks of " + type.blockSize() + ": " + rows + "x" + cols);
        }
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.sub = sub;
        this.blocks = cols / type.blockSize();
        this.rowBytes = (long) blocks * type.bytesPerBlock();
        this.byteRows = new FirstUseCopy<>(this::makeByteRows, data);
        this.lookup = new FirstUseCopy<>(this::makeLookupPlanes, data);
        if (data.byteSize() < rows * rowBytes) {
            throw new IllegalArgumentException(type.label() + " " + rows + "x" + cols + " needs " + rows * rowBytes + " bytes, got " + data.byteSize());
        }
    }

    /** The codec of these types: the engine reads them but does not quantize to them (llama.cpp's quantizer does). */
    static final Codec LOAD_ONLY = (Codec.Rows) (x, off, n, out) -> {
        throw new io.nashswarm.EngineException("the engine loads llama.cpp's block types but does not quantize to them;"
                + " use llama.cpp's quantizer, or the engine's q8_0/q4_0 or its own formats");
    };

    @Override public QuantType type() { return type; }
    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public long storageBytes() { return data.byteSize(); }
    @Override public MemorySegment data() { return data; }
    @Override public Layout layout() { return Layout.OUT_IN; }

    /**
     * Decodes the block at byte {@code o}: {@code codes[i]} for its weights in order, and for sub-block
     * {@code s} the {@code scale[s]} and {@code min[s]} with weight = scale·code − min.
     */
    abstract void decodeBlock(long o, byte[] codes, float[] scale, float[] min);

    /**
     * A matrix's largest |scale| and |minimum| ({@link #decodeBlock}; the minimum of codes shifted up by {@code offset},
     * {@code min + offset·scale}), and the power of two k that puts it just under
     * 2^15, so that the lookup copies' fp16 values (times 2^k) keep 11 significant bits over a range of 2^29.
     */
    final int lookupExponent(int offset) {
        byte[] codes = new byte[type.blockSize()];
        float[] sc = new float[type.blockSize() / sub], mn = new float[sc.length];
        float max = 0;
        for (int r = 0; r < rows; r++) {
            for (int blk = 0; blk < blocks; blk++) {
                decodeBlock(r * rowBytes + (long) blk * type.bytesPerBlock(), codes, sc, mn);
                for (int j = 0; j < sc.length; j++) {
                    max = Math.max(max, Math.max(Math.abs(sc[j]), Math.abs(mn[j] + offset * sc[j])));
                }
            }
        }
        return max > 0 && max < Float.POSITIVE_INFINITY ? 14 - Math.getExponent(max) : max == 0 ? 0 : Integer.MAX_VALUE;
    }

    /** fp16 bits of v; clears fits[0] when v is neither 0 nor a normal fp16 (the lookup copy would lose precision). */
    static short fp16Normal(float v, boolean[] fits) {
        float a = Math.abs(v);
        if (a != 0 && !(a >= 0x1p-14f && a <= 65504f)) {
            fits[0] = false;
        }
        return Float.floatToFloat16(v);
    }

    /** Per-call scratch: one block's codes, scales and minimums. */
    private final class Scratch {
        final byte[] codes = new byte[type.blockSize()];
        final float[] scale = new float[type.blockSize() / sub];
        final float[] min = new float[type.blockSize() / sub];
    }

    private void decodeRow(int r, float[] out, int off, Scratch s) {
        int qk = type.blockSize();
        long base = r * rowBytes;
        for (int blk = 0; blk < blocks; blk++) {
            decodeBlock(base + blk * (long) type.bytesPerBlock(), s.codes, s.scale, s.min);
            int o = off + blk * qk;
            for (int p = 0; p < qk; p += B.length()) {
                ByteVector q = ByteVector.fromArray(B, s.codes, p);
                for (int part = 0; part < BYTE_PARTS; part++) {
                    int pos = p + part * L;
                    int sb = pos / sub;
                    Vectors.int8(q, part).fma(s.scale[sb], -s.min[sb]).intoArray(out, o + pos);
                }
            }
        }
    }

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        matmul(x, y, 1, rowStart, rowEnd);
    }

    @Override
    public int rowBlock() {
        ByteRows b = byteRows.get();
        return b != null ? b.rowBlock() : SegmentMatrix.super.rowBlock();
    }

    @Override
    public void prepare() {
        if (byteRows.get() == null) {
            lookup.get();
        }
    }

    /**
     * The 16-bit product kernels where the type has a byte-row copy (Q2_K–Q6_K), else the table lookup where it has a
     * lookup copy, else dequantized rows times x, one row at a time (a general integer kernel on q8 activations, on the
     * decoded codes, was measured slower than that: 0.7–1.06x, see README › GGUF, and deleted).
     */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        ByteRows b = byteRows.get();
        if (b != null) {
            ByteRowKernels.products(b, x, n, y, rowStart, rowEnd);
            return;
        }
        BitPlanes p = lookup.get();
        if (p != null) {
            LutKernels.products(p, x, n, y, rowStart, rowEnd);
        } else {
            matmulDequantized(x, y, n, rowStart, rowEnd);
        }
    }

    /**
     * Bits of this type's codes on the table-lookup path (4: Q4_1; 5: Q5_0, Q5_1),
     * or 0.
     */
    int lookupBits() {
        return 0;
    }

    /**
     * What {@link #decodeBlock}'s codes are shifted up by to make them unsigned on the lookup path (Q5_0's are q − 16);
     * the copy's minimums take the shift ({@code min + offset·scale}).
     */
    int lookupOffset() {
        return 0;
    }

    /** Makes the byte-row copy for the 16-bit product kernels ({@link ByteRowKernels}), or null for types without one (Q2_K–Q6_K have one). */
    ByteRows makeByteRows() {
        return null;
    }

    /**
     * The generic lookup copies (made at the first product: {@link FirstUseCopy}) for types with
     * {@link #lookupBits}, per sub-block of 32 weights a group with fp16 scale and fp16 minimum ({@code w = s·u − m},
     * codes shifted up by {@link #lookupOffset}), times one power of two per matrix ({@link #lookupExponent}); 4-bit
     * codes in one copy, 5-bit with planes 4–5 in a second ({@link BitPlanes#ofWide}). Null without 512-bit vectors, for other types, or
     * when rows are not whole chunks of 64 or the scales span more than fp16's normal range.
     */
    private BitPlanes makeLookupPlanes() {
        if (lookupBits() == 0 || cols % LutInput.CHUNK != 0 || !LutKernels.NATIVE) {
            return null;
        }
        int off = lookupOffset(), bits = lookupBits(), qk = type.blockSize(), per = qk / sub;
        // the planes the kernel adds: 4 (4-bit codes) or 6 (5-bit codes, as two copies)
        int frame = bits <= 4 ? 4 : 6;
        int k = lookupExponent(off);
        boolean[] fits = {Math.abs(k) < 100};
        if (!fits[0]) {
            return null;
        }
        float up = Math.scalb(1f, k);
        byte[] codes = new byte[qk];
        float[] sc = new float[per], mn = new float[per];
        BitPlanes.BlockRows src = (r, u, scales, mins) -> {
            for (int blk = 0; blk < blocks; blk++) {
                decodeBlock(r * rowBytes + (long) blk * type.bytesPerBlock(), codes, sc, mn);
                for (int i = 0; i < qk; i++) {
                    u[qk * blk + i] = codes[i] + off;
                }
                for (int j = 0; j < per; j++) {
                    scales[per * blk + j] = fp16Normal(sc[j] * up, fits);
                    mins[per * blk + j] = fp16Normal((mn[j] + off * sc[j]) * up, fits);
                }
            }
        };
        // 4-bit codes as int4, 5-bit as int4 + int2 copies
        BitPlanes built = frame == 6 ? BitPlanes.ofWide(rows, cols, sub, src)
                : BitPlanes.ofBlocks(frame, rows, cols, sub, src);
        if (!fits[0]) {
            return null;
        }
        built.outScale = Math.scalb(1f, -k);
        return built;
    }

    final void matmulDequantized(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        Scratch s = new Scratch();
        float[] w = new float[cols];
        for (int r = rowStart; r < rowEnd; r++) {
            decodeRow(r, w, 0, s);
            for (int b = 0; b < n; b++) {
                y[b * rows + r] = Vectors.dot(w, 0, x, b * cols, cols);
            }
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, out.length);
        ByteRows b = byteRows.made(); // once made, rows come from the copy where it can give them (a tied embedding's lookups)
        if (b == null || !b.dequantizeRow(r, out, off)) {
            decodeRow(r, out, off, new Scratch());
        }
    }

    // Helpers for the decoders.

    final float half(long offset) {
        return Float.float16ToFloat(data.get(F16, offset));
    }

    /** Little-endian views of a row's bytes copied to the heap (the kernels' copies read whole rows that way). */
    static final java.lang.invoke.VarHandle LONGS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN),
            SHORTS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    final int u8(long offset) {
        return data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
    }

    /** 16 bytes at {@code offset}. */
    final ByteVector load16(long offset) {
        return ByteVector.fromMemorySegment(B16, data, offset, LE);
    }

    /** Bits {@code shift .. shift+width} of each byte lane (arithmetic shift, then mask: the sign never leaks in). */
    static ByteVector bits(ByteVector v, int shift, int mask) {
        return v.lanewise(VectorOperators.ASHR, shift).and((byte) mask);
    }
}

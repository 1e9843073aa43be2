package io.nashswarm.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * GGML Q4_0: blocks of 32 weights, an fp16 scale {@code d} then 16 bytes; byte {@code j} holds weight
 * {@code j} in its low nibble and weight {@code j+16} in its high nibble; {@code w = d·(q - 8)}.
 */
public final class Q4_0Matrix extends BlockMatrix {
    static final int BYTES = 18;
    private static final int HALF = BLOCK / 2;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, BYTES);
    }

    @Override public QuantType type() { return QuantType.Q4_0; }

    // Products on an input quantized to 16-bit integers per block ({@link QuantizedInput#q4_0}): a block's
    // 16 bytes widen to 16 short lanes whose low nibbles are weights 0..15 and high nibbles 16..31, so the
    // input keeps its natural order; two 16-bit multiplies and adds cover the block, then a pairwise sum
    // to 8 ints, one conversion and one FMA with d·step. As for the packed types (see IntKernels), this
    // is several times fewer pipe-limited operations per weight than converting every nibble to float;
    // the input is rounded to half a step of 1/1024 of its block's largest value.

    @Override
    public void matvec(float[] x, float[] y, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, 1, rowStart, rowEnd);
        rows(data, rowBytes, blocks, QuantizedInput.q4_0(x, 0, cols), y, 0, rowStart, rowEnd);
    }

    /** Blocks of {@value #BLOCK_ROWS} rows, each block's codes read from memory once for the whole batch. */
    @Override
    public void matmul(float[] x, float[] y, int n, int rowStart, int rowEnd) {
        DenseMatrix.checkProduct(this, x, y, n, rowStart, rowEnd);
        QuantizedInput[] in = new QuantizedInput[n];
        for (int b = 0; b < n; b++) {
            in[b] = QuantizedInput.q4_0(x, b * cols, cols);
        }
        for (int r0 = rowStart; r0 < rowEnd; r0 += BLOCK_ROWS) {
            int r1 = Math.min(rowEnd, r0 + BLOCK_ROWS);
            for (int b = 0; b < n; b++) {
                rows(data, rowBytes, blocks, in[b], y, b * rows, r0, r1);
            }
        }
    }

    private static final int BLOCK_ROWS = 16;

    /** {@code y[yOff + r] = Σ d·(q − 8)·x} for rows r0..r1 (the row loop lives here, so this compiles on its own). */
    private static void rows(MemorySegment data, long rowBytes, int blocks, QuantizedInput in, float[] y, int yOff, int r0, int r1) {
        short[] q = in.q, bias = in.bias;
        float[] step = in.step;
        for (int r = r0; r < r1; r++) {
            long base = r * rowBytes;
            FloatVector acc = FloatVector.zero(F);
            for (int blk = 0; blk < blocks; blk++) {
                long o = base + (long) BYTES * blk;
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, data, o + 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                int xo = BLOCK * blk;
                ShortVector p = ShortVector.fromArray(S, bias, 16 * blk)
                        .add(v.and((short) 0xF).mul(ShortVector.fromArray(S, q, xo)))
                        .add(v.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S, q, xo + HALF)));
                IntVector pi = p.reinterpretAsInts();
                IntVector sum = pi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(pi.lanewise(VectorOperators.ASHR, 16));
                float s = Float.float16ToFloat(data.get(F16, o)) * step[blk];
                acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, s), acc);
            }
            y[yOff + r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    @Override
    public void dequantizeRow(int r, float[] out, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, out.length);
        long base = r * rowBytes;
        for (int blk = 0; blk < blocks; blk++) {
            long o = base + (long) blk * BYTES;
            float d = scale(o);
            for (int j = 0; j < HALF; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xFF;
                out[off + blk * BLOCK + j] = d * ((q & 0x0F) - 8);
                out[off + blk * BLOCK + j + HALF] = d * ((q >>> 4) - 8);
            }
        }
    }
}

package io.nashswarm.tensor;

import io.nashswarm.quant.MixedQuantizer;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.TensorQuantizer;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Rows of 172 (the tiny llama2.c models' FFN down projection) stored padded to 192: the products must
 * be those of the real 172 columns, which the float64 reference checks on the stored matrix with the
 * input padded by zeros (so a padding weight that were not multiplied by zero would show), and the
 * padding must be counted in the bits per real weight.
 */
class PaddedMatrixTest {
    private static final int ROWS = 9, COLS = 172, STORED = 192;

    private static float[][] weights(long seed) {
        Random rnd = new Random(seed);
        float[][] w = new float[ROWS][COLS];
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                w[r][c] = (float) rnd.nextGaussian() * (r == 3 ? 1e-3f : 0.05f);
            }
        }
        w[5][171] = 2.5f; // an outlier in the last real column, inside the padded group
        return w;
    }

    private static float[] input(Random rnd, int n, int cols) {
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    private static void check(PackedMatrix stored, String what) {
        PaddedMatrix p = PaddedMatrix.of(stored, COLS);
        assertEquals(COLS, p.cols());
        assertEquals(ROWS, p.rows());
        assertEquals(stored.storageBytes(), p.storageBytes());
        assertEquals(8.0 * stored.storageBytes() / (ROWS * COLS), p.bitsPerWeight(), 1e-12, what + ": bits per real weight");

        // Rows: the stored row's first 172 values; the padding dequantizes to exactly zero.
        float[] row = new float[COLS + 2], full = new float[STORED];
        for (int r = 0; r < ROWS; r++) {
            row[COLS] = row[COLS + 1] = Float.NaN;
            p.dequantizeRow(r, row, 0);
            stored.dequantizeRow(r, full, 0);
            for (int c = 0; c < COLS; c++) {
                assertEquals(full[c], row[c], what + " row " + r);
            }
            assertTrue(Float.isNaN(row[COLS]), what + ": wrote past the real row");
            for (int c = COLS; c < STORED; c++) {
                assertEquals(0.0, Math.abs(full[c]), what + ": padding of row " + r);
            }
        }

        Random rnd = new Random(7);
        for (int n : new int[] {1, 3, 5}) {
            float[] x = input(rnd, n, COLS);
            float[] y = new float[n * ROWS];
            java.util.Arrays.fill(y, Float.NaN);
            if (n == 1) {
                p.matvec(x, y, 0, ROWS);
            } else {
                p.matmul(x, y, n, 0, ROWS);
            }
            float[] xp = new float[n * STORED];
            for (int b = 0; b < n; b++) {
                System.arraycopy(x, b * COLS, xp, b * STORED, COLS);
            }
            PackedReference.assertProduct(stored, xp, y, n, what + " batch " + n);
        }
        // Row ranges are respected.
        float[] y = new float[ROWS];
        java.util.Arrays.fill(y, Float.NaN);
        p.matvec(input(rnd, 1, COLS), y, 2, 6);
        assertTrue(Float.isNaN(y[1]) && Float.isNaN(y[6]) && !Float.isNaN(y[2]) && !Float.isNaN(y[5]), what);
    }

    @Test
    void productsAndRowsAreThoseOfTheRealColumns() {
        RowSource src = RowSource.padded(RowSource.of(weights(1)), STORED);
        try (Arena arena = Arena.ofShared()) {
            check((PackedMatrix) TensorQuantizer.uniform(src, QuantType.INT4, GroupSpec.symmetric(64), arena), "int4 g64 sym");
            check((PackedMatrix) TensorQuantizer.uniform(src, QuantType.INT2, GroupSpec.asymmetric(64), arena), "int2 g64 asym");
            check((PackedMatrix) TensorQuantizer.uniform(src, QuantType.INT8, GroupSpec.symmetric(32), arena), "int8 g32");
            check((PackedMatrix) TensorQuantizer.uniform(src, QuantType.INT4, GroupSpec.perChannel(STORED, false), arena), "int4 per-channel");
            check((PackedMatrix) TensorQuantizer.uniform(src, QuantType.NF4, GroupSpec.symmetric(64), arena), "nf4 g64");
            byte[] widths = new byte[ROWS * 3];
            for (int i = 0; i < widths.length; i++) {
                widths[i] = (byte) new int[] {2, 4, 8}[i % 3];
            }
            check(MixedQuantizer.quantize(src, GroupSpec.symmetric(64), widths), "mixed g64");
        }
    }

    @Test
    void onlyTheNextMultipleOf32IsAPadding() {
        assertEquals(192, PaddedMatrix.storedCols(172));
        assertEquals(32, PaddedMatrix.storedCols(1));
        assertFalse(PaddedMatrix.needed(64));
        try (Arena arena = Arena.ofShared()) {
            PackedMatrix m = (PackedMatrix) TensorQuantizer.uniform(RowSource.padded(RowSource.of(weights(2)), 256), QuantType.INT4,
                    GroupSpec.symmetric(64), arena);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PaddedMatrix.of(m, COLS));
            assertTrue(e.getMessage().contains("padded to 192"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> PaddedMatrix.of(m, 256));
        }
    }
}

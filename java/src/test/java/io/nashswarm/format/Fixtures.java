package io.nashswarm.format;

import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.format.safetensors.SafetensorsWriter;
import io.nashswarm.tensor.WeightMatrix;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Test-side checkpoint writing with no help from the loaders: random values, the element encodings
 * (written here from the IEEE/bfloat16 definitions), and small helpers to compare loaded matrices
 * with what was written.
 */
final class Fixtures {
    private Fixtures() {}

    /** A tensor as a test writes it: name in the file, shape in the file, values in storage order (already rounded to the dtype). */
    record Written(String name, long[] shape, float[] values) {}

    static float[] random(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextFloat() * 2f - 1f;
        }
        return v;
    }

    /** The value a float becomes when stored as {@code dtype}. */
    static float round(float f, SafetensorsDtype dtype) {
        return switch (dtype) {
            case F32 -> f;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(f));
            case BF16 -> Float.intBitsToFloat((bf16Bits(f) & 0xFFFF) << 16);
            default -> throw new IllegalArgumentException(dtype.name());
        };
    }

    /** bfloat16: the top 16 bits of the float32, rounded to nearest even. */
    static short bf16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static byte[] encode(float[] v, SafetensorsDtype dtype) {
        ByteBuffer b = ByteBuffer.allocate(v.length * dtype.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            switch (dtype) {
                case F32 -> b.putFloat(f);
                case F16 -> b.putShort(Float.floatToFloat16(f));
                case BF16 -> b.putShort(bf16Bits(f));
                default -> throw new IllegalArgumentException(dtype.name());
            }
        }
        return b.array();
    }

    /** A tensor of random values already rounded to {@code dtype}. */
    static Written tensor(Random rng, SafetensorsDtype dtype, String name, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = random(rng, (int) n);
        for (int i = 0; i < v.length; i++) {
            v[i] = round(v[i], dtype);
        }
        return new Written(name, shape, v);
    }

    static void writeSafetensors(Path file, SafetensorsDtype dtype, List<Written> tensors) {
        SafetensorsWriter w = new SafetensorsWriter();
        for (Written t : tensors) {
            w.add(t.name(), dtype, t.shape(), encode(t.values(), dtype));
        }
        w.write(file);
    }

    static void writeString(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, Written> byName(List<Written> tensors) {
        Map<String, Written> m = new LinkedHashMap<>();
        tensors.forEach(t -> m.put(t.name(), t));
        return m;
    }

    /** Checks every row of {@code m} against a {@code rows × cols} matrix stored row-major ([out][in]). */
    static void assertRowMajor(float[] expected, int rows, int cols, WeightMatrix m) {
        assertEquals(rows, m.rows());
        assertEquals(cols, m.cols());
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) {
                assertEquals(expected[r * cols + c], row[c], 0f, "row " + r + " col " + c);
            }
        }
    }

    /** Checks every row of {@code m} against values stored transposed ([in][out], GPT-2 Conv1D). */
    static void assertTransposed(float[] stored, int rows, int cols, WeightMatrix m) {
        assertEquals(rows, m.rows());
        assertEquals(cols, m.cols());
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) {
                assertEquals(stored[c * rows + r], row[c], 0f, "row " + r + " col " + c);
            }
        }
    }

    /** y = W·x in float64 from the stored values, against the matrix's own matvec. */
    static void assertMatvec(float[] w, boolean transposed, int rows, int cols, WeightMatrix m, Random rng) {
        float[] x = random(rng, cols);
        float[] y = new float[rows];
        m.matvec(x, y, 0, rows);
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            for (int c = 0; c < cols; c++) {
                acc += (double) (transposed ? w[c * rows + r] : w[r * cols + c]) * x[c];
            }
            assertEquals(acc, y[r], 1e-4 * (1 + Math.abs(acc)), "row " + r);
        }
    }

    /** Asserts a {@link FormatException} naming {@code file} whose message contains {@code problem}. */
    static FormatException assertFormatError(Path file, String problem, org.junit.jupiter.api.function.Executable action) {
        FormatException e = assertThrows(FormatException.class, action);
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), () -> "message should name " + file + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), () -> "message should contain \"" + problem + "\": " + e.getMessage());
        return e;
    }

    static List<Written> concat(List<Written> a, List<Written> b) {
        List<Written> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void writeBytes(Path p, byte[] b) {
        try {
            Files.write(p, b);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void assertVector(float[] expected, float[] actual) {
        assertArrayEquals(expected, actual, 0f);
    }
}

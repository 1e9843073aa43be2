package io.nashswarm.reference;

import io.nashswarm.format.safetensors.SafetensorsDtype;

import java.util.Arrays;
import java.util.Random;

/**
 * A tensor as a Hugging Face checkpoint stores it: its name, row-major shape and little-endian bytes.
 * The reference decodes the same bytes the engine maps, so BF16/F16 rounding is shared exactly.
 */
record HfTensor(String name, long[] shape, SafetensorsDtype dtype, byte[] bytes) {

    /** Gaussian values of the given mean and standard deviation, stored as {@code dtype}. */
    static HfTensor random(Random rng, String name, SafetensorsDtype dtype, double mean, double std, long... shape) {
        double[] v = new double[(int) Arrays.stream(shape).reduce(1, Math::multiplyExact)];
        for (int i = 0; i < v.length; i++) {
            v[i] = mean + std * rng.nextGaussian();
        }
        return new HfTensor(name, shape, dtype, StoredFloats.encode(v, dtype));
    }

    double[] vector() {
        if (shape.length != 1) {
            throw new IllegalStateException(name + " is not a vector: " + Arrays.toString(shape));
        }
        return StoredFloats.decode(bytes, dtype);
    }

    /** A 2-D tensor as {@code [shape[0]][shape[1]]}, in the orientation the file stores it. */
    double[][] matrix() {
        if (shape.length != 2) {
            throw new IllegalStateException(name + " is not a matrix: " + Arrays.toString(shape));
        }
        double[] flat = StoredFloats.decode(bytes, dtype);
        int rows = (int) shape[0], cols = (int) shape[1];
        double[][] m = new double[rows][];
        for (int r = 0; r < rows; r++) {
            m[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        }
        return m;
    }

    int rows() { return (int) shape[0]; }

    int cols() { return (int) shape[1]; }
}

package io.nashswarm.format;

import java.util.List;

/**
 * A tensor a model needs, under its canonical name, with the shape its configuration implies:
 * a matrix is {@code rows} outputs by {@code cols} inputs; a vector has {@code rows} elements.
 */
public record TensorSpec(String name, boolean matrix, int rows, int cols) {
    public static TensorSpec matrix(String name, int rows, int cols) {
        return new TensorSpec(name, true, rows, cols);
    }

    public static TensorSpec vector(String name, int length) {
        return new TensorSpec(name, false, length, 1);
    }

    public long elements() {
        return (long) rows * cols;
    }

    /** {@code [rows, cols]} for a matrix, {@code [length]} for a vector. */
    public List<Long> shape() {
        return matrix ? List.of((long) rows, (long) cols) : List.of((long) rows);
    }
}

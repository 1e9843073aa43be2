package io.nashswarm.quant;

import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.PerWeightMixedMatrix;
import io.nashswarm.tensor.WeightMatrix;

import java.util.List;

/**
 * What a quantized model spends where: per tensor, its storage and real bits/weight (every scale, zero,
 * map and outlier included, from {@code storageBytes}), and how its weights split over code widths;
 * then totals per width and the whole model's bits/weight.
 *
 * @param vectorFloats norms and biases, stored as float32 (outside the matrix budget, counted in the "all" figure)
 * @param notes        lines printed under the table (allocation, calibration split, …)
 */
public record QuantReport(String recipe, List<Row> rows, long vectorFloats, List<String> notes) {
    public QuantReport {
        rows = List.copyOf(rows);
        notes = List.copyOf(notes);
    }

    /**
     * One distinct matrix. {@code w8/w4/w2} count weights stored with 8/4/2-bit codes, {@code wFloat}
     * those kept in f16/bf16/f32 (for mixed types, groups × group size or weights per width). They count
     * stored codes, so for rows padded to a multiple of 32 ({@link PaddedMatrix}) the padding's too, and
     * sum to {@link #stored()}; the bits per weight divide by the real weights.
     */
    public record Row(String name, String role, String method, int rows, int cols, String storage, long bytes,
                      long w8, long w4, long w2, long wFloat, long outliers, String note) {
        public long weights() {
            return (long) rows * cols;
        }

        public double bitsPerWeight() {
            return 8.0 * bytes / weights();
        }

        /** Weights stored, padding included. */
        public long stored() {
            return w8 + w4 + w2 + wFloat;
        }

        public static Row of(String name, String role, String method, WeightMatrix m, String note) {
            if (m instanceof PaddedMatrix p) {
                Row r = of(name, role, method, p.stored(), note);
                return new Row(name, role, method, m.rows(), m.cols(), r.storage() + " (rows padded to " + p.stored().cols() + ")",
                        r.bytes(), r.w8(), r.w4(), r.w2(), r.wFloat(), r.outliers(), note);
            }
            long n = (long) m.rows() * m.cols(), w8 = 0, w4 = 0, w2 = 0, wf = 0, out = 0;
            String storage = m.type().label();
            switch (m) {
                case MixedGroupMatrix x -> {
                    MixCounts c = x.counts();
                    int g = x.spec().groupSize();
                    w8 = c.groups8() * g;
                    w4 = c.groups4() * g;
                    w2 = c.groups2() * g;
                    out = c.outliers();
                    storage += " " + x.spec();
                }
                case PerWeightMixedMatrix x -> {
                    MixCounts c = x.counts();
                    w8 = c.groups8();
                    w4 = c.groups4();
                    w2 = c.groups2();
                    storage += " " + x.spec();
                }
                case PackedMatrix x -> {
                    storage += " " + x.spec();
                    long[] w = byWidth(x.type(), n);
                    w8 = w[0];
                    w4 = w[1];
                    w2 = w[2];
                }
                default -> {
                    long[] w = byWidth(m.type(), n);
                    w8 = w[0];
                    w4 = w[1];
                    w2 = w[2];
                    wf = w[3];
                }
            }
            return new Row(name, role, method, m.rows(), m.cols(), storage, m.storageBytes(), w8, w4, w2, wf, out, note);
        }
    }

    /**
     * {@code n} weights of a uniform type in the report's width columns {8, 4, 2, float}: codes wider
     * than 8 bits are floats; narrower ones count in the next width up (a 6-bit code as 8, 3 as 4).
     */
    static long[] byWidth(QuantType type, long n) {
        int b = type.codeBits();
        return new long[] {b > 4 && b <= 8 ? n : 0, b > 2 && b <= 4 ? n : 0, b <= 2 ? n : 0, b > 8 ? n : 0};
    }

    public long matrixWeights() {
        return rows.stream().mapToLong(Row::weights).sum();
    }

    public long matrixBytes() {
        return rows.stream().mapToLong(Row::bytes).sum();
    }

    /** Σ storageBytes·8 / Σ weights over the distinct matrices (embeddings and head included, tied once). */
    public double bitsPerMatrixWeight() {
        return 8.0 * matrixBytes() / matrixWeights();
    }

    /** The same with the float32 norms and biases added to both sides. */
    public double bitsPerParameter() {
        return (8.0 * matrixBytes() + 32.0 * vectorFloats) / (matrixWeights() + vectorFloats);
    }

    public long totalBytes() {
        return matrixBytes() + 4 * vectorFloats;
    }

    /** The Markdown summary: one row per tensor, then width totals, then the model's bits/weight and the notes. */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("| tensor | role | method | shape | storage | bytes | bits/weight | 8-bit | 4-bit | 2-bit | float | note |\n");
        sb.append("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            sb.append(String.format("| %s | %s | %s | %dx%d | %s | %d | %.4f | %s | %s | %s | %s | %s |%n", r.name(), r.role(), r.method(),
                    r.rows(), r.cols(), r.storage() + (r.outliers() > 0 ? " +" + r.outliers() + " outliers" : ""), r.bytes(), r.bitsPerWeight(),
                    pct(r.w8(), r.stored()), pct(r.w4(), r.stored()), pct(r.w2(), r.stored()), pct(r.wFloat(), r.stored()), r.note()));
        }
        long n = matrixWeights(), codes = rows.stream().mapToLong(Row::stored).sum();
        long w8 = rows.stream().mapToLong(Row::w8).sum(), w4 = rows.stream().mapToLong(Row::w4).sum();
        long w2 = rows.stream().mapToLong(Row::w2).sum(), wf = rows.stream().mapToLong(Row::wFloat).sum();
        sb.append('\n');
        sb.append("| code width | weights stored | share |\n|---|---:|---:|\n");
        sb.append(String.format("| 8 bits | %d | %s |%n| 4 bits | %d | %s |%n| 2 bits | %d | %s |%n| float (f16/bf16/f32) | %d | %s |%n",
                w8, pct(w8, codes), w4, pct(w4, codes), w2, pct(w2, codes), wf, pct(wf, codes)));
        if (codes != n) {
            sb.append(String.format("(%d stored weights are zero padding of rows to a multiple of 32, counted in the bytes)%n", codes - n));
        }
        sb.append('\n');
        sb.append(String.format("recipe %s: %d matrix weights in %d bytes = %.4f bits/weight (every scale, zero, map and outlier counted)%n",
                recipe, n, matrixBytes(), bitsPerMatrixWeight()));
        sb.append(String.format("with %d norm/bias floats (f32): %d parameters in %d bytes = %.4f bits/parameter%n",
                vectorFloats, n + vectorFloats, totalBytes(), bitsPerParameter()));
        for (String note : notes) {
            sb.append(note).append('\n');
        }
        return sb.toString().stripTrailing();
    }

    private static String pct(long part, long whole) {
        return part == 0 ? "-" : String.format("%.1f%%", 100.0 * part / whole);
    }
}

package io.nashswarm.format.packed;

import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixCounts;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a packed file holds, measured from its header and size, for {@code inspect}: per tensor its type,
 * group spec, shape, bytes and effective bits per weight — every scale, zero, map entry and outlier
 * included — broken down by section; per-width group counts of mixed tensors; and totals over the
 * matrices and over the whole file. Plain maps and lists, ready for JSON.
 */
public final class PackedSummary {
    private PackedSummary() {}

    /** One map per tensor, in file order. */
    public static List<Map<String, Object>> tensors(PackedHeader h) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (TensorRecord t : h.tensors()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", t.name());
            e.put("type", t.type().label());
            if (t.spec() != null) {
                e.put("group", group(t.spec()));
            }
            e.put("shape", t.shape());
            if (t.padded()) {
                e.put("stored_cols", t.storedCols());
            }
            e.put("bytes", t.bytes());
            e.put("bits_per_weight", bits(t.bytes(), t.elements()));
            List<Map<String, Object>> sections = new ArrayList<>();
            for (TensorRecord.Section s : t.sections()) {
                Map<String, Object> se = new LinkedHashMap<>();
                se.put("name", s.name());
                se.put("bytes", s.bytes());
                se.put("bits_per_weight", bits(s.bytes(), t.elements()));
                sections.add(se);
            }
            e.put("sections", sections);
            if (t.mix() != null) {
                e.put("mix", mix(t.mix(), unit(t)));
            }
            if (t.layout() == io.nashswarm.tensor.Layout.IN_OUT) {
                e.put("stored", "[in][out]");
            }
            out.add(e);
        }
        return out;
    }

    /** Totals: matrix weights (a tied head once), their bytes and bits/weight, vectors, header, padding, the file. */
    public static Map<String, Object> totals(PackedHeader h, long fileBytes) {
        long weights = 0, matrixBytes = 0, vectorBytes = 0;
        // Mixed matrices count groups per width, per-weight matrices count weights: totalled apart.
        Map<String, long[]> mixTotals = new LinkedHashMap<>();
        for (TensorRecord t : h.tensors()) {
            if (t.matrix()) {
                weights += t.elements();
                matrixBytes += t.bytes();
            } else {
                vectorBytes += t.bytes();
            }
            if (t.mix() != null) {
                long[] c = mixTotals.computeIfAbsent(unit(t), u -> new long[4]);
                c[0] += t.mix().groups2();
                c[1] += t.mix().groups4();
                c[2] += t.mix().groups8();
                c[3] += t.mix().outliers();
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("matrix_weights", weights);
        m.put("matrix_bytes", matrixBytes);
        m.put("matrix_bits_per_weight", bits(matrixBytes, weights));
        m.put("vector_bytes", vectorBytes);
        m.put("preamble_bytes", (long) PackedFormat.PREAMBLE_BYTES);
        m.put("header_bytes", h.headerBytes());
        m.put("padding_bytes", fileBytes - PackedFormat.PREAMBLE_BYTES - h.headerBytes() - matrixBytes - vectorBytes);
        m.put("file_bytes", fileBytes);
        m.put("file_bits_per_weight", bits(fileBytes, weights));
        mixTotals.forEach((unit, c) -> m.put("mixed_" + unit, mix(new MixCounts(c[0], c[1], c[2], c[3]), unit)));
        return m;
    }

    private static Map<String, Object> group(GroupSpec s) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("size", s.groupSize());
        g.put("asymmetric", s.asymmetric());
        g.put("per_tensor", s.perTensor());
        g.put("label", s.toString());
        return g;
    }

    /** What a tensor's per-width counts count. */
    private static String unit(TensorRecord t) {
        return t.type() == io.nashswarm.tensor.QuantType.PERWEIGHT ? "weights" : "groups";
    }

    private static Map<String, Object> mix(MixCounts c, String unit) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(unit + "_2bit", c.groups2());
        m.put(unit + "_4bit", c.groups4());
        m.put(unit + "_8bit", c.groups8());
        m.put("outliers", c.outliers());
        return m;
    }

    private static double bits(long bytes, long weights) {
        return weights == 0 ? 0 : 8.0 * bytes / weights;
    }
}

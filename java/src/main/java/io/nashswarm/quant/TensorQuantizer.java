package io.nashswarm.quant;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** One matrix from float rows to any storage type, into the caller's arena: the quantizers behind one switch. */
public final class TensorQuantizer {
    private TensorQuantizer() {}

    /**
     * A uniform type: F32/F16/BF16/Q8_0/Q4_0 (spec ignored; rows must fill whole blocks) or
     * INT8/INT4/INT2/NF4/FP4 at {@code spec}.
     */
    public static WeightMatrix uniform(RowSource src, QuantType type, GroupSpec spec, Arena arena) {
        return switch (type) {
            case INT8, INT4, INT2 -> RtnQuantizer.quantize(src, type, spec, ScaleRule.MINMAX, arena);
            case NF4 -> RtnQuantizer.nf4(src, spec, arena);
            case FP4 -> RtnQuantizer.fp4(src, spec, arena);
            case F32, F16, BF16, Q8_0, Q4_0 -> dense(src, type, arena);
            case MIXED, PERWEIGHT -> throw new IllegalArgumentException(type.label() + " needs widths; use MixedQuantizer or PerWeightQuantizer");
        };
    }

    /** Row by row through {@link GgmlQuantizer} into one segment, wrapped with {@link Matrices#of}. */
    public static WeightMatrix dense(RowSource src, QuantType type, Arena arena) {
        int rows = src.rows(), cols = src.cols();
        long rowBytes = type.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                GgmlQuantizer.quantize(type, w, 0, cols, data.asSlice(r * rowBytes, rowBytes).asByteBuffer());
            }
        });
        return Matrices.of(type, data, rows, cols, Layout.OUT_IN);
    }
}

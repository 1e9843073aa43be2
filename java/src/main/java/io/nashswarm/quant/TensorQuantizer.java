package io.nashswarm.quant;

import io.nashswarm.kernel.Parallel;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** One matrix from float rows to any uniform storage type, into the caller's arena: the quantizer its codec names. */
public final class TensorQuantizer {
    private TensorQuantizer() {}

    /**
     * A uniform type, by the kind of its {@link Codec}: a row codec (F32/F16/BF16/Q8_0/Q4_0; spec ignored;
     * rows must fill whole blocks), or round-to-nearest group codes at {@code spec} (INT8/INT4/INT2, NF4).
     */
    public static WeightMatrix uniform(RowSource src, QuantType type, GroupSpec spec, Arena arena) {
        return switch (type.codec()) {
            case Codec.Rows rows -> dense(src, type, arena);
            case Codec.IntegerGrid grid -> RtnQuantizer.quantize(src, type, spec, ScaleRule.MINMAX, arena);
            case Codec.Codebook levels -> RtnQuantizer.codebook(src, type, spec, arena);
            case Codec.Widths widths -> throw new IllegalArgumentException(type.label() + " needs widths; use MixedQuantizer or PerWeightQuantizer");
        };
    }

    /** Row by row through the type's row codec into one segment, opened by the table. */
    public static WeightMatrix dense(RowSource src, QuantType type, Arena arena) {
        int rows = src.rows(), cols = src.cols();
        long rowBytes = type.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] w = new float[cols];
            for (int r = start; r < end; r++) {
                src.row(r, w);
                type.encodeRow(w, 0, cols, data.asSlice(r * rowBytes, rowBytes).asByteBuffer());
            }
        });
        return type.open(data, rows, cols, Layout.OUT_IN);
    }
}

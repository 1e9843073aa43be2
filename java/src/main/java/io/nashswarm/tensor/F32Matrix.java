package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Dense IEEE float32 little-endian weights. */
public final class F32Matrix extends DenseMatrix {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public F32Matrix(MemorySegment data, int rows, int cols, Layout layout) {
        super(data, rows, cols, layout);
    }

    @Override public QuantType type() { return QuantType.F32; }

    @Override
    float get(long i) {
        return data.getAtIndex(LE, i);
    }
}

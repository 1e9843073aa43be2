package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Dense IEEE binary16 little-endian weights. */
public final class F16Matrix extends DenseMatrix {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public F16Matrix(MemorySegment data, int rows, int cols, Layout layout) {
        super(data, rows, cols, layout);
    }

    @Override public QuantType type() { return QuantType.F16; }

    @Override
    float get(long i) {
        return Float.float16ToFloat(data.getAtIndex(LE, i));
    }
}

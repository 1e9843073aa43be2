package io.nashswarm.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Dense bfloat16 (the top half of a float32) little-endian weights. */
public final class BF16Matrix extends DenseMatrix {
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public BF16Matrix(MemorySegment data, int rows, int cols, Layout layout) {
        super(data, rows, cols, layout);
    }

    @Override public QuantType type() { return QuantType.BF16; }

    @Override
    float get(long i) {
        return Float.intBitsToFloat(data.getAtIndex(LE, i) << 16);
    }
}

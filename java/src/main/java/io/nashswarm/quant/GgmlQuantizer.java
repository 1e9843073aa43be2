package io.nashswarm.quant;

import io.nashswarm.tensor.QuantType;

import java.nio.ByteBuffer;

/**
 * Float rows → the float and GGML block types, through the {@link QuantType} table's row codec (ggml's
 * rounding; see {@code tensor.RowCodecs}).
 */
public final class GgmlQuantizer {
    private GgmlQuantizer() {}

    /** Quantizes {@code n} values (a multiple of the block size) of {@code x} from {@code off} into {@code out}. */
    public static void quantize(QuantType type, float[] x, int off, int n, ByteBuffer out) {
        type.encodeRow(x, off, n, out);
    }
}

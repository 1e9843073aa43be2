package io.nashswarm.quant;

import io.nashswarm.tensor.QuantType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Float rows → GGML Q8_0 / Q4_0 blocks, rounding as ggml's reference quantizers do, so files we
 * export decode in llama.cpp to the values we computed with.
 *
 * <ul>
 * <li>Q8_0: d = max|x| / 127, q = round(x / d).</li>
 * <li>Q4_0: m = the value of largest magnitude (sign kept), d = m / −8, q = min(15, trunc(x / d + 8.5)).</li>
 * </ul>
 */
public final class GgmlQuantizer {
    private GgmlQuantizer() {}

    /** Quantizes {@code n} values (for Q8_0/Q4_0 a multiple of 32) of {@code x} from {@code off} into {@code out}. */
    public static void quantize(QuantType type, float[] x, int off, int n, ByteBuffer out) {
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(n + " values is not a multiple of the " + type.label() + " block size " + type.blockSize());
        }
        out.order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case Q8_0 -> {
                for (int b = off; b < off + n; b += 32) {
                    float amax = 0;
                    for (int i = 0; i < 32; i++) {
                        amax = Math.max(amax, Math.abs(x[b + i]));
                    }
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.putShort(Float.floatToFloat16(d));
                    for (int i = 0; i < 32; i++) {
                        out.put((byte) Math.round(x[b + i] * id));
                    }
                }
            }
            case Q4_0 -> {
                for (int b = off; b < off + n; b += 32) {
                    float amax = 0, max = 0;
                    for (int i = 0; i < 32; i++) {
                        float v = x[b + i];
                        if (Math.abs(v) > amax) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.putShort(Float.floatToFloat16(d));
                    for (int j = 0; j < 16; j++) {
                        int lo = Math.min(15, (int) (x[b + j] * id + 8.5f));
                        int hi = Math.min(15, (int) (x[b + j + 16] * id + 8.5f));
                        out.put((byte) (lo | (hi << 4)));
                    }
                }
            }
            case F32 -> {
                for (int i = off; i < off + n; i++) {
                    out.putFloat(x[i]);
                }
            }
            case F16 -> {
                for (int i = off; i < off + n; i++) {
                    out.putShort(Float.floatToFloat16(x[i]));
                }
            }
            case BF16 -> {
                for (int i = off; i < off + n; i++) {
                    // Round to nearest even on the dropped 16 bits, as PyTorch does.
                    int bits = Float.floatToRawIntBits(x[i]);
                    bits += 0x7fff + ((bits >>> 16) & 1);
                    out.putShort((short) (bits >>> 16));
                }
            }
            default -> throw new IllegalArgumentException("GGML quantizer has no " + type.label());
        }
    }
}

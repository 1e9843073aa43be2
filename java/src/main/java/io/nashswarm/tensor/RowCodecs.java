package io.nashswarm.tensor;

import io.nashswarm.EngineException;

import java.nio.ByteBuffer;

/**
 * The {@link Codec.Rows} encoders of the float and GGML block types, one per {@link QuantType} row.
 * GGML blocks round as ggml's reference quantizers do, so files we export decode in llama.cpp to the
 * values we computed with:
 * <ul>
 * <li>Q8_0: d = max|x| / 127, q = round(x / d).</li>
 * <li>Q4_0: m = the value of largest magnitude (sign kept), d = m / −8, q = min(15, trunc(x / d + 8.5)).</li>
 * </ul>
 * Non-finite values: F32 keeps every bit; F16 and BF16 keep ±Inf and NaN (finite values beyond their
 * range round to ±Inf, as IEEE rounding does); the block types refuse NaN and ±Inf (a block's one scale
 * cannot hold them), as the packed quantizers do.
 */
final class RowCodecs {
    private RowCodecs() {}

    static void f32(float[] x, int off, int n, ByteBuffer out) {
        for (int i = off; i < off + n; i++) {
            out.putFloat(x[i]);
        }
    }

    static void f16(float[] x, int off, int n, ByteBuffer out) {
        for (int i = off; i < off + n; i++) {
            out.putShort(Float.floatToFloat16(x[i]));
        }
    }

    static void bf16(float[] x, int off, int n, ByteBuffer out) {
        for (int i = off; i < off + n; i++) {
            out.putShort(QuantType.toBf16(x[i]));
        }
    }

    static void q8_0(float[] x, int off, int n, ByteBuffer out) {
        for (int b = off; b < off + n; b += 32) {
            float amax = 0;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(finite(x, b + i, QuantType.Q8_0)));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            out.putShort(Float.floatToFloat16(d));
            for (int i = 0; i < 32; i++) {
                out.put((byte) Math.round(x[b + i] * id));
            }
        }
    }

    static void q4_0(float[] x, int off, int n, ByteBuffer out) {
        for (int b = off; b < off + n; b += 32) {
            float amax = 0, max = 0;
            for (int i = 0; i < 32; i++) {
                float v = finite(x, b + i, QuantType.Q4_0);
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

    private static float finite(float[] x, int i, QuantType type) {
        float v = x[i];
        if (!Float.isFinite(v)) {
            throw new EngineException("cannot quantize a non-finite weight (" + v + ") to " + type.label() + " (index " + i + ")");
        }
        return v;
    }
}

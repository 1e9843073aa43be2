package io.nashswarm.tensor;

/**
 * The FP4 code of bitsandbytes ({@code quant_type="fp4"}): a sign bit (bit 3) and a 3-bit e2m1-style
 * magnitude with exponent bias 3 and a subnormal, {0, 0.0625, 2, 3, 4, 6, 8, 12}, divided by 12 so that
 * the largest is 1; weights are {@code w = s·T[u]} with {@code s} the group's absmax. The magnitude
 * order follows bitsandbytes' bit patterns (its {@code dDequantizeFP4Tree}): 0b000 = 0, 0b001 = 0.0625/12,
 * 0b010 = 8/12, 0b011 = 1, 0b100 = 4/12, 0b101 = 6/12, 0b110 = 2/12, 0b111 = 3/12. Code 0b1000 is −0.
 */
public final class Fp4 {
    /** Values of codes 0..15 (codes 8..15 are the negatives of 0..7). */
    static final float[] CODEBOOK = build();

    private Fp4() {}

    /** A copy of the table, indexed by code. */
    public static float[] codebook() {
        return CODEBOOK.clone();
    }

    /** Value of code {@code u} (0..15). */
    public static float value(int u) {
        return CODEBOOK[u];
    }

    /**
     * The code of the value nearest to {@code v} (v already divided by the group's absmax); ties go to
     * the smaller magnitude, and 0 takes the positive zero.
     */
    public static int nearest(float v) {
        int best = 0;
        float bestErr = Float.POSITIVE_INFINITY;
        int sign = v < 0 ? 8 : 0;
        float a = Math.abs(v);
        for (int m = 0; m < 8; m++) {
            float e = Math.abs(a - CODEBOOK[m]);
            if (e < bestErr || (e == bestErr && CODEBOOK[m] < CODEBOOK[best])) {
                bestErr = e;
                best = m;
            }
        }
        return best == 0 ? 0 : best | sign;
    }

    private static float[] build() {
        float[] magnitude = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f};
        float[] t = new float[16];
        for (int m = 0; m < 8; m++) {
            t[m] = magnitude[m] / 12f;
            t[m + 8] = -magnitude[m] / 12f;
        }
        return t;
    }
}

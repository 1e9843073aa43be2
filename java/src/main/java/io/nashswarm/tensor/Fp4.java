package io.nashswarm.tensor;

/**
 * The FP4 levels of bitsandbytes ({@code quant_type="fp4"}): a sign and an e2m1-style magnitude with
 * exponent bias 3 and a subnormal, {0, 0.0625, 2, 3, 4, 6, 8, 12}, divided by 12 so that the largest
 * is 1 (the constants of bitsandbytes' {@code dDequantizeFP4Tree}); weights are {@code w = s·T[u]} with
 * {@code s} the group's absmax. bitsandbytes spends two of its 16 bit patterns on +0 and −0; here the
 * codes index the 15 distinct levels in ascending order (code 15 is unused), so FP4 is a
 * {@link Codec.Codebook} like NF4 and shares its quantizer and kernel. Same values, not the same bits.
 */
public final class Fp4 {
    private static final float[] MAGNITUDES = {0.0625f, 2f, 3f, 4f, 6f, 8f, 12f};

    /** The 15 levels ascending: −1 … −0.0625/12, 0, 0.0625/12 … 1. */
    public static final Codec.Codebook CODEC = new Codec.Codebook(levels());

    /** The kernel's 16-entry table: the levels, then 0 for the unused code 15. */
    static final float[] CODEBOOK = java.util.Arrays.copyOf(levels(), 16);

    private Fp4() {}

    /** Value of code {@code u} (0..14). */
    public static float value(int u) {
        return CODEC.value(u);
    }

    /** Code of the level nearest to {@code v} (v already divided by the group's absmax). */
    public static int nearest(float v) {
        return CODEC.nearest(v);
    }

    private static float[] levels() {
        float[] t = new float[15];
        for (int i = 0; i < 7; i++) {
            t[6 - i] = -MAGNITUDES[i] / 12f;
            t[8 + i] = MAGNITUDES[i] / 12f;
        }
        t[7] = 0f;
        return t;
    }
}

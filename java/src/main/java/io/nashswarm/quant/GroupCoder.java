package io.nashswarm.quant;

/**
 * Chooses the codes of one group of one row for a matrix writer: round to nearest by default, or the
 * codes another algorithm already chose (GPTQ's {@link Gptq.Result}).
 */
@FunctionalInterface
public interface GroupCoder {
    /**
     * Writes the codes of group {@code group} of row {@code row} ({@code w[off..off+n)} are its source
     * weights) to {@code codes[codeOff..]} and returns its scale and zero.
     */
    GroupQuantizer.Result code(int row, int group, float[] w, int off, int n, int bits, int[] codes, int codeOff);
}

package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.MixedGroupMatrix;

import java.util.Arrays;

/**
 * The Nash-Swarm seeds' split of a matrix by importance: the top {@code p8} percent of items (groups
 * or weights) at 8 bits, the next {@code p4} percent at 4 bits, the rest ({@code p2}) at 2 bits.
 */
public record NashSplit(double p8, double p4, double p2) {
    /** The seeds' 10/20/70 (≈ 3.0 bits of codes per weight). */
    public static final NashSplit SEEDS = new NashSplit(10, 20, 70);

    public NashSplit {
        if (!(p8 >= 0 && p4 >= 0 && p2 >= 0) || Math.abs(p8 + p4 + p2 - 100) > 1e-9) {
            throw new EngineException("the Nash split must be three non-negative percentages adding up to 100 (8/4/2 bits), got "
                    + fmt(p8) + "/" + fmt(p4) + "/" + fmt(p2));
        }
    }

    /** Parses {@code "10/20/70"} (percent at 8, 4 and 2 bits). */
    public static NashSplit parse(String s) {
        String[] parts = s.trim().split("/");
        if (parts.length != 3) {
            throw new EngineException("--nash-split must look like 10/20/70 (percent at 8/4/2 bits), got '" + s + "'");
        }
        double[] p = new double[3];
        for (int i = 0; i < 3; i++) {
            try {
                p[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new EngineException("--nash-split must look like 10/20/70 (percent at 8/4/2 bits), got '" + s + "'");
            }
        }
        return new NashSplit(p[0], p[1], p[2]);
    }

    /** Items at 8, 4 and 2 bits out of {@code n}: cumulative rounding, so the three add up to n. */
    public long[] counts(long n) {
        long n8 = Math.round(n * p8 / 100);
        long n84 = Math.min(n, Math.round(n * (p8 + p4) / 100));
        return new long[] {n8, n84 - n8, n - n84};
    }

    /** Average code bits per weight of the split (scales and maps not included). */
    public double codeBits() {
        return (8 * p8 + 4 * p4 + 2 * p2) / 100;
    }

    /**
     * Widths for items ranked by importance: the {@link #counts} most important get 8 bits, the next
     * 4, the rest 2. Ties go to the lower index, so the result is deterministic.
     */
    public byte[] assign(float[] importance) {
        int n = importance.length;
        long[] c = counts(n);
        byte[] widths = new byte[n];
        int i = 0;
        for (int idx : rankDescending(importance)) {
            widths[idx] = (byte) (i < c[0] ? 8 : i < c[0] + c[1] ? 4 : 2);
            i++;
        }
        return widths;
    }

    /**
     * Widths per group ({@code rows × groupsPerRow}, row-major) chosen per tile of {@link MixedGroupMatrix#TILE_ROWS}
     * rows × one group, the unit the table-lookup kernels run at one width: tiles ranked by their groups' mean
     * importance; the most important get 8 bits while that brings the 8-bit groups nearest {@link #counts}' (within half a
     * tile), then 4 likewise, the rest 2.
     */
    public byte[] assignTiles(float[] importance, int rows, int groupsPerRow) {
        int tile = MixedGroupMatrix.TILE_ROWS, tiles = (rows + tile - 1) / tile * groupsPerRow;
        if (importance.length != (long) rows * groupsPerRow) {
            throw new EngineException("importance has " + importance.length + " entries for " + rows + "x" + groupsPerRow + " groups");
        }
        float[] mean = new float[tiles];
        for (int i = 0; i < importance.length; i++) {
            int r = i / groupsPerRow, t = r / tile * groupsPerRow + i % groupsPerRow;
            mean[t] += importance[i] / Math.min(tile, rows - r / tile * tile);
        }
        long[] c = counts(importance.length);
        byte[] widths = new byte[importance.length];
        long given = 0;
        for (int t : rankDescending(mean)) {
            int r0 = t / groupsPerRow * tile, gi = t % groupsPerRow, n = Math.min(tile, rows - r0);
            // a tile takes a width while that keeps the share nearest its target (a small matrix has few tiles)
            double mid = given + n / 2.0;
            byte w = (byte) (mid < c[0] ? 8 : mid < c[0] + c[1] ? 4 : 2);
            for (int r = r0; r < r0 + n; r++) {
                widths[r * groupsPerRow + gi] = w;
            }
            given += n;
        }
        return widths;
    }

    /** Indices by decreasing importance (ties: increasing index). Importance must be finite and ≥ 0. */
    static int[] rankDescending(float[] importance) {
        long[] keys = new long[importance.length];
        for (int i = 0; i < keys.length; i++) {
            float v = importance[i];
            if (!(v >= 0) || Float.isInfinite(v)) {
                throw new EngineException("importance " + v + " at " + i + " is not a finite non-negative number");
            }
            // Non-negative floats order like their bit patterns; the complement sorts them descending.
            int bits = Float.floatToIntBits(v + 0f);
            keys[i] = ((long) (Integer.MAX_VALUE - bits) << 32) | i;
        }
        Arrays.parallelSort(keys);
        int[] order = new int[keys.length];
        for (int i = 0; i < keys.length; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }

    /** "10/20/70". */
    @Override
    public String toString() {
        return fmt(p8) + "/" + fmt(p4) + "/" + fmt(p2);
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}

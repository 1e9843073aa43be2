package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.QuantType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Chooses every tile's width in {2, 4, 8} to meet an average bits/weight budget over a whole model
 * with the least estimated output error. A tile is one group column, all rows × one group (its error is the sum of its
 * groups' errors), as EXL2 chooses a width per slice of input columns, in matrices of at least {@link #COLUMN_GROUPS}
 * groups per row: such a matrix then runs as one uniform matrix per width over that width's columns ({@code
 * MixedColumns}), each on its width's own kernel, so it decodes in proportion to its bits. Tiles of 16 rows (all
 * matrices' before 2026-12-04, and still those of fewer groups per row) kept 0.5 dB more SQNR on GPT-2's attention
 * matrices at 3.0 bpw, but their kernels cost 1.5–2.4x the uniform ones per weight
 * (bench/results/column-widths-2026-12-04.md). The allocation
 * is the real "Nash equilibrium" of the bits, where no tile can lower the total error by trading bits with another
 * (equal marginal distortion per bit).
 *
 * <h2>Method: an exact Lagrangian sweep, done greedily</h2>
 * Each tile's options (bits, D) at 2, 4 and 8 bits are reduced to their lower convex hull (a width
 * that is never the best for any price λ, e.g. 4 bits when 2→8 gains more per bit than 2→4, is
 * skipped). Every tile starts at 2 bits; the hull steps of all tiles are taken in order of
 * decreasing ΔD/Δbits until the next step no longer fits the budget. With λ* = the slope of that
 * step, every tile then sits at its argmin of D + λ*·bits: the Lagrangian solution, found without
 * bisection and so deterministic, and within one step (≤ 6·g·rows bits) of the budget. Stopping at the
 * first step that does not fit (rather than filling with smaller, worse steps) is what keeps the
 * equilibrium exact: every step taken has a slope ≥ λ* ≥ every step not taken, so moving bits from
 * one tile to another can only raise D. (A fill was tried on 2026-12-04: it spent aidreams260K's last
 * 1.4% of bits when its matrices had column tiles, but a swap involving a filled tile can then lower D.)
 *
 * <h2>Accounting</h2>
 * Bits are exact: the mixed matrices' sizes come from {@link QuantType#sections} (map, codes, fp16
 * scales, zeros, outliers) for every candidate; the caller adds the fixed bits of everything else
 * (embeddings, LM head, matrices kept in F16/F32). Asymmetric zeros are rounded up to whole bytes per
 * matrix, so the greedy reserves one byte per asymmetric matrix to stay under the budget.
 */
public final class BitAllocator {
    private BitAllocator() {}

    private static final int[] WIDTHS = {2, 4, 8};

    /**
     * One mixed matrix taking part.
     *
     * @param errors {@code errors[wi][r·G + gi]}: the group's (importance-weighted) squared error at
     *               2, 4, 8 bits (wi = 0, 1, 2), e.g. from {@link MixedQuantizer#groupErrors}
     * @param outliers weights kept as fp16 corrections (their cost is counted, they do not take part)
     */
    public record Item(String name, int rows, int cols, GroupSpec spec, long outliers, double[][] errors) {
        public Item {
            int groups = rows * spec.groupsPerRow(cols);
            if (errors.length != 3 || errors[0].length != groups || errors[1].length != groups || errors[2].length != groups) {
                throw new IllegalArgumentException(name + ": errors must be [3][" + groups + "]");
            }
        }

        int groups() {
            return errors[0].length;
        }

        /** Exact bits of this matrix with the given widths. */
        long bits(byte[] widths) {
            long c2 = 0, c4 = 0, c8 = 0;
            for (byte w : widths) {
                switch (w) {
                    case 2 -> c2++;
                    case 4 -> c4++;
                    default -> c8++;
                }
            }
            return 8 * QuantType.MIXED.bytesFor(rows, cols, spec, new MixCounts(c2, c4, c8, outliers));
        }

        long uniformBits(int width) {
            long g = groups();
            return 8 * QuantType.MIXED.bytesFor(rows, cols, spec,
                    new MixCounts(width == 2 ? g : 0, width == 4 ? g : 0, width == 8 ? g : 0, outliers));
        }

        /** Bits added per group by going from width a to width b (codes plus the zero's width). */
        long stepBits(int from, int to) {
            return (long) (to - from) * (spec.groupSize() + (spec.asymmetric() ? 1 : 0));
        }

        int groupsPerRow() {
            return groups() / rows;
        }

        /**
         * Rows per tile, the unit that gets one width: a whole group column where a row has at least {@link
         * #COLUMN_GROUPS} groups (the matrix then runs as one uniform matrix per width, {@code MixedColumns}), else
         * {@link MixedGroupMatrix#TILE_ROWS} rows, so that a matrix of one to a few groups per row (aidreams260K's) still
         * has many choices.
         */
        int tileHeight() {
            return groupsPerRow() >= COLUMN_GROUPS ? rows : MixedGroupMatrix.TILE_ROWS;
        }

        int tiles() {
            return (rows + tileHeight() - 1) / tileHeight() * groupsPerRow();
        }

        int tileRows(int t) {
            int h = tileHeight(), r0 = t / groupsPerRow() * h;
            return Math.min(h, rows - r0);
        }

        /** The errors of each tile at 2, 4, 8 bits: the sum over its rows. */
        double[][] tileErrors() {
            int gpr = groupsPerRow(), h = tileHeight();
            double[][] e = new double[3][tiles()];
            for (int wi = 0; wi < 3; wi++) {
                for (int i = 0; i < errors[wi].length; i++) {
                    e[wi][i / gpr / h * gpr + i % gpr] += errors[wi][i];
                }
            }
            return e;
        }

        /** Width of tile t (of its first row). */
        int tileWidth(byte[] widths, int t) {
            int gpr = groupsPerRow();
            return widths[t / gpr * tileHeight() * gpr + t % gpr];
        }

        /** Sets every group of tile t to {@code width}. */
        void setTile(byte[] widths, int t, byte width) {
            int gpr = groupsPerRow(), r0 = t / gpr * tileHeight(), gi = t % gpr;
            for (int r = r0; r < r0 + tileRows(t); r++) {
                widths[r * gpr + gi] = width;
            }
        }
    }

    /**
     * Groups per row from which a matrix's widths are chosen per group column. Column tiles lose some quality (GPT-2's
     * attention matrices, 12 groups per row, 0.5 dB SQNR at 3.0 bpw) for kernels that cost in proportion to the bits. At
     * one to three groups per row a matrix has one to three choices and no speed to gain (aidreams260K: KLD 1–4% higher
     * with column tiles, e.g. gptq-target-4.0bpw@embed=int4 0.177 against 0.171).
     */
    static final int COLUMN_GROUPS = 8;

    /**
     * @param widths     per item, the chosen width of every group (row-major)
     * @param totalBits  exact bits of the items plus the fixed bits
     * @param budgetBits the target times the weights
     * @param lambda     the equilibrium price λ* in error per bit (0 if every useful step was taken)
     * @param distortion Σ of the chosen groups' errors
     */
    public record Allocation(List<byte[]> widths, long totalBits, long budgetBits, long minBits, long maxBits,
                             double lambda, double distortion) {}

    /**
     * @param fixedBits    bits of everything in the model that is not allocated here
     * @param totalWeights weights of the whole model (the denominator of the target)
     * @throws EngineException when the target is outside what the items and fixed costs can reach
     */
    public static Allocation allocate(List<Item> items, long fixedBits, long totalWeights, double targetBpw) {
        if (!(targetBpw > 0) || Double.isInfinite(targetBpw)) {
            throw new EngineException("--bpw must be a positive number, got " + targetBpw);
        }
        long budget = (long) Math.floor(targetBpw * totalWeights);
        long min = fixedBits, max = fixedBits;
        for (Item it : items) {
            min += it.uniformBits(2);
            max += it.uniformBits(8);
        }
        if (budget < min || budget > max) {
            throw new EngineException(String.format(
                    "target %.4g bits/weight is not achievable: this model spans %.4f (every mixed group at 2 bits) to %.4f (all at 8 bits)"
                            + " with its fixed parts (embeddings, head, fallback matrices, scales, maps) counted; choose a --bpw in that range"
                            + " or make the fixed parts smaller (e.g. --embed-type)", targetBpw,
                    (double) min / totalWeights, (double) max / totalWeights));
        }

        List<double[][]> tileErrors = new ArrayList<>();
        for (Item it : items) {
            tileErrors.add(it.tileErrors());
        }
        Steps steps = hullSteps(items, tileErrors);
        int[] order = steps.order();

        List<byte[]> widths = new ArrayList<>();
        long reserve = 0;
        double distortion = 0;
        for (Item it : items) {
            byte[] w = new byte[it.groups()];
            Arrays.fill(w, (byte) 2);
            widths.add(w);
            reserve += it.spec().asymmetric() ? 8 : 0;
            for (double e : it.errors[0]) {
                distortion += e;
            }
        }
        long remaining = budget - min - reserve;
        double lambda = 0;
        for (int i : order) {
            if (steps.bits[i] > remaining) {
                lambda = steps.slope[i];
                break;
            }
            int k = steps.item[i], t = steps.group[i];
            items.get(k).setTile(widths.get(k), t, (byte) WIDTHS[steps.to[i]]);
            remaining -= steps.bits[i];
            double[][] e = tileErrors.get(k);
            distortion += e[steps.to[i]][t] - e[steps.from[i]][t];
        }
        long total = fixedBits;
        for (int k = 0; k < items.size(); k++) {
            total += items.get(k).bits(widths.get(k));
        }
        if (total > budget) {
            throw new IllegalStateException("allocator overshot the budget: " + total + " > " + budget + " bits");
        }
        return new Allocation(widths, total, budget, min, max, lambda, distortion);
    }

    /** The hull steps of every group in primitive arrays (models have millions of groups). */
    private record Steps(int[] item, int[] group, byte[] from, byte[] to, double[] slope, long[] bits, int n) {
        /** Step indices by decreasing slope; equal slopes keep insertion order (a group's steps in sequence). */
        int[] order() {
            // Sort by the slope rounded to float (fast primitive sort), then settle float ties exactly.
            long[] keys = new long[n];
            for (int i = 0; i < n; i++) {
                int f = Float.floatToIntBits((float) slope[i]); // slopes are > 0: bit patterns order like values
                keys[i] = ((long) (Integer.MAX_VALUE - f) << 32) | i;
            }
            Arrays.parallelSort(keys);
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = (int) keys[i];
            }
            for (int a = 0; a < n; ) {
                int b = a + 1;
                while (b < n && (keys[b] >>> 32) == (keys[a] >>> 32)) {
                    b++;
                }
                if (b - a > 1) {
                    Integer[] run = new Integer[b - a];
                    for (int i = a; i < b; i++) {
                        run[i - a] = order[i];
                    }
                    Arrays.sort(run, (x, y) -> {
                        int c = Double.compare(slope[y], slope[x]);
                        return c != 0 ? c : Integer.compare(x, y);
                    });
                    for (int i = a; i < b; i++) {
                        order[i] = run[i - a];
                    }
                }
                a = b;
            }
            return order;
        }
    }

    /** Lower-convex-hull steps of every tile, starting at 2 bits; only steps that lower the error. */
    private static Steps hullSteps(List<Item> items, List<double[][]> tileErrors) {
        long groups = 0;
        for (Item it : items) {
            groups += it.tiles();
        }
        int cap = Math.toIntExact(2 * groups);
        int[] item = new int[cap], group = new int[cap];
        byte[] from = new byte[cap], to = new byte[cap];
        double[] slope = new double[cap];
        long[] bits = new long[cap];
        int n = 0;
        for (int k = 0; k < items.size(); k++) {
            Item it = items.get(k);
            double[][] e = tileErrors.get(k);
            for (int gi = 0; gi < it.tiles(); gi++) {
                int cur = 0, tileRows = it.tileRows(gi);
                while (cur < 2) {
                    int best = -1;
                    double bestSlope = 0;
                    for (int j = cur + 1; j < 3; j++) {
                        double s = (e[cur][gi] - e[j][gi]) / (tileRows * it.stepBits(WIDTHS[cur], WIDTHS[j]));
                        if (s > bestSlope) { // ties keep the nearer width: equal-slope steps stay separate
                            bestSlope = s;
                            best = j;
                        }
                    }
                    if (best < 0) {
                        break; // more bits do not lower this group's error
                    }
                    item[n] = k;
                    group[n] = gi;
                    from[n] = (byte) cur;
                    to[n] = (byte) best;
                    slope[n] = bestSlope;
                    bits[n] = tileRows * it.stepBits(WIDTHS[cur], WIDTHS[best]);
                    n++;
                    cur = best;
                }
            }
        }
        return new Steps(item, group, from, to, slope, bits, n);
    }
}

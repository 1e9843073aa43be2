package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixedGroupMatrix;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class BitAllocatorTest {
    record Case(float[][] w, GroupSpec spec, float[] importance) {}

    /** Three matrices of different scales, shapes, group sizes and symmetry; one with per-column importance; two of column tiles. */
    static List<Case> cases() {
        Random rnd = new Random(7);
        float[] imp = new float[384];
        for (int c = 0; c < imp.length; c++) {
            imp[c] = (float) Math.exp(2 * rnd.nextGaussian());
        }
        return List.of(
                new Case(TinyModels.gaussian(40, 512, 0.02, 1), GroupSpec.symmetric(64), null),
                new Case(TinyModels.gaussian(28, 384, 0.1, 2), GroupSpec.asymmetric(32), imp),
                new Case(TinyModels.gaussian(36, 256, 0.5, 3), GroupSpec.symmetric(128), null)); // 2 groups per row: 16-row tiles
    }

    static List<BitAllocator.Item> items(List<Case> cases) {
        List<BitAllocator.Item> items = new ArrayList<>();
        for (Case c : cases) {
            RowSource src = RowSource.of(c.w());
            items.add(new BitAllocator.Item("m" + items.size(), src.rows(), src.cols(), c.spec(), 0,
                    MixedQuantizer.groupErrors(src, c.spec(), ScaleRule.MINMAX, c.importance())));
        }
        return items;
    }

    /** Bytes of a mixed matrix written out from the layout rules (independent of QuantType). */
    static long formulaBytes(int cols, GroupSpec spec, byte[] widths) {
        long groups = widths.length, widthSum = 0;
        for (byte b : widths) {
            widthSum += b;
        }
        return (2 * groups + 7) / 8 + widthSum * spec.groupSize() / 8 + 2 * groups + (spec.asymmetric() ? (widthSum + 7) / 8 : 0);
    }

    static final long FIXED_WEIGHTS = 1000, FIXED_BITS = 8 * 1000 + 16;

    @Test
    void meetsTheBudgetWithExactAccountingAndIsAnEquilibrium() {
        List<Case> cases = cases();
        List<BitAllocator.Item> items = items(cases);
        long weights = FIXED_WEIGHTS;
        for (Case c : cases) {
            weights += (long) c.w().length * c.w()[0].length;
        }
        double previousD = Double.POSITIVE_INFINITY;
        for (double target : new double[] {3.8, 4.3, 5.2, 6.0, 7.5}) {
            BitAllocator.Allocation a = BitAllocator.allocate(items, FIXED_BITS, weights, target);
            long budget = (long) Math.floor(target * weights);
            assertEquals(budget, a.budgetBits());
            // Exact: the real matrices occupy what the allocator counted, and the layout formula agrees.
            long real = FIXED_BITS, formula = FIXED_BITS;
            double d = 0;
            for (int k = 0; k < cases.size(); k++) {
                Case c = cases.get(k);
                byte[] w = a.widths().get(k);
                MixedGroupMatrix m = MixedQuantizer.quantize(RowSource.of(c.w()), c.spec(), w, null, ScaleRule.MINMAX, Arena.ofAuto());
                real += 8 * m.storageBytes();
                formula += 8 * formulaBytes(c.w()[0].length, c.spec(), w);
                for (int gi = 0; gi < w.length; gi++) {
                    d += items.get(k).errors()[w[gi] == 2 ? 0 : w[gi] == 4 ? 1 : 2][gi];
                }
            }
            assertEquals(real, a.totalBits(), "target " + target);
            assertEquals(formula, a.totalBits(), "target " + target);
            assertEquals(d, a.distortion(), 1e-9 * d);
            // Within one tile's step (at most 2→8 in the largest tile, a column of 40 groups, zeros included) plus the zero-byte reserve.
            assertTrue(a.totalBits() <= budget, "over budget at " + target);
            assertTrue(a.lambda() > 0, "every useful step taken at " + target + ": pick a lower target for this test");
            assertTrue(budget - a.totalBits() < 40 * 6 * (128 + 1) + 8, "target " + target + " left " + (budget - a.totalBits()) + " bits unspent");
            assertTrue(a.distortion() < previousD, "more bits must lower the error");
            previousD = a.distortion();
            assertOneWidthPerTile(items, a);
            assertNoProfitableTrade(items, a);
        }
    }

    /** One tile (a group column, or 16 rows of it) of one item at its allocated width. */
    record G(BitAllocator.Item item, int tile, int width) {
        long bits(int w) {
            return (long) item.tileRows(tile) * w * (item.spec().groupSize() + (item.spec().asymmetric() ? 1 : 0));
        }

        double err(int w) {
            return item.tileErrors()[w == 2 ? 0 : w == 4 ? 1 : 2][tile];
        }

        @Override
        public String toString() {
            return item.name() + " tile " + tile + " at " + width;
        }
    }

    /** Every row of a tile has the tile's width: a group column, or 16 rows of it below COLUMN_GROUPS groups per row. */
    static void assertOneWidthPerTile(List<BitAllocator.Item> items, BitAllocator.Allocation a) {
        for (int k = 0; k < items.size(); k++) {
            byte[] w = a.widths().get(k);
            int gpr = items.get(k).groupsPerRow();
            for (int i = 0; i < w.length; i++) {
                int r = i / gpr;
                int h = items.get(k).groupsPerRow() >= BitAllocator.COLUMN_GROUPS ? items.get(k).rows() : 16;
                assertEquals(w[(r / h * h) * gpr + i % gpr], w[i], items.get(k).name() + " row " + r + " group " + i % gpr);
            }
        }
    }

    /** No downgrade of one group paired with an upgrade of another, at equal or fewer bits, lowers the total error. */
    static void assertNoProfitableTrade(List<BitAllocator.Item> items, BitAllocator.Allocation a) {
        List<G> all = new ArrayList<>();
        for (int k = 0; k < items.size(); k++) {
            byte[] w = a.widths().get(k);
            BitAllocator.Item it = items.get(k);
            for (int t = 0; t < it.tiles(); t++) {
                all.add(new G(it, t, it.tileWidth(w, t)));
            }
        }
        int[] widths = {2, 4, 8};
        int trades = 0;
        for (G down : all) {
            for (G up : all) {
                if (down == up) {
                    continue;
                }
                for (int wd : widths) {
                    for (int wu : widths) {
                        if (wd >= down.width() || wu <= up.width()) {
                            continue;
                        }
                        long bits = down.bits(wd) - down.bits(down.width()) + up.bits(wu) - up.bits(up.width());
                        if (bits > 0) {
                            continue;
                        }
                        trades++;
                        double dD = down.err(wd) - down.err(down.width()) + up.err(wu) - up.err(up.width());
                        double scale = down.err(down.width()) + up.err(up.width()) + 1e-30;
                        assertTrue(dD >= -1e-9 * scale, "trading " + down + "→" + wd + " for " + up + "→" + wu + " lowers the error by " + -dD);
                    }
                }
            }
        }
        assertTrue(trades > 20, "the check must have trades to look at, got " + trades);
    }

    @Test
    void impossibleTargetsNameTheAchievableRange() {
        List<BitAllocator.Item> items = items(cases());
        long weights = FIXED_WEIGHTS + 40 * 512 + 28 * 384 + 36 * 256;
        EngineException low = assertThrows(EngineException.class, () -> BitAllocator.allocate(items, FIXED_BITS, weights, 2.0));
        assertTrue(low.getMessage().contains("not achievable") && low.getMessage().contains("spans"), low.getMessage());
        EngineException high = assertThrows(EngineException.class, () -> BitAllocator.allocate(items, FIXED_BITS, weights, 9.5));
        assertTrue(high.getMessage().contains("to "), high.getMessage());
        assertThrows(EngineException.class, () -> BitAllocator.allocate(items, FIXED_BITS, weights, -1));
        // The ends of the range themselves are achievable: all at 2 bits, all at 8 bits.
        BitAllocator.Allocation min = BitAllocator.allocate(items, FIXED_BITS, weights, 1e-9 + (double) minBits(items) / weights);
        for (byte[] w : min.widths()) {
            for (byte b : w) {
                assertEquals(2, b);
            }
        }
    }

    private static long minBits(List<BitAllocator.Item> items) {
        long bits = FIXED_BITS;
        for (BitAllocator.Item it : items) {
            byte[] w = new byte[it.errors()[0].length];
            java.util.Arrays.fill(w, (byte) 2);
            bits += 8 * formulaBytes(it.cols(), it.spec(), w);
        }
        return bits;
    }

    @Test
    void bitsGoWhereTheErrorIs() {
        // Two identical matrices except that one is 10x larger: at any budget it must get at least as many bits.
        float[][] small = TinyModels.gaussian(64, 256, 0.01, 5);
        float[][] large = new float[64][256];
        for (int r = 0; r < 64; r++) {
            for (int c = 0; c < 256; c++) {
                large[r][c] = 10 * small[r][c];
            }
        }
        GroupSpec spec = GroupSpec.symmetric(64);
        List<BitAllocator.Item> items = List.of(
                new BitAllocator.Item("small", 64, 256, spec, 0, MixedQuantizer.groupErrors(RowSource.of(small), spec, ScaleRule.MINMAX, null)),
                new BitAllocator.Item("large", 64, 256, spec, 0, MixedQuantizer.groupErrors(RowSource.of(large), spec, ScaleRule.MINMAX, null)));
        BitAllocator.Allocation a = BitAllocator.allocate(items, 0, 2 * 64 * 256, 4.0);
        int sumSmall = 0, sumLarge = 0;
        for (int i = 0; i < 256; i++) {
            sumSmall += a.widths().get(0)[i];
            sumLarge += a.widths().get(1)[i];
        }
        assertTrue(sumLarge > sumSmall, "large " + sumLarge + " vs small " + sumSmall);
        assertNoProfitableTrade(items, a);
        // The check itself can fail: the same bits given the other way round are no equilibrium.
        BitAllocator.Allocation swapped = new BitAllocator.Allocation(List.of(a.widths().get(1), a.widths().get(0)), a.totalBits(),
                a.budgetBits(), a.minBits(), a.maxBits(), a.lambda(), a.distortion());
        assertThrows(org.opentest4j.AssertionFailedError.class, () -> assertNoProfitableTrade(items, swapped));
    }
}

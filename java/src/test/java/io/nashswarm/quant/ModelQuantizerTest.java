package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.InferenceState;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.ModelQuantizer.QuantizedModel;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.MixedGroupMatrix;
import io.nashswarm.tensor.PerWeightMixedMatrix;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class ModelQuantizerTest {
    static final QuantSettings DEFAULTS = QuantSettings.defaults();

    static QuantSettings with(double bpw, double outliers, QuantType fallback) {
        QuantSettings d = DEFAULTS;
        return new QuantSettings(d.group(), d.asymmetric(), d.split(), d.swarmRadius(), bpw, d.embedType(), outliers, fallback);
    }

    /** E[x²] of every matrix over a few random tokens (what a calibration run gives). */
    static Map<String, float[]> stats(ModelWeights w) {
        int[] tokens = new Random(1).ints(40, 0, w.config().vocabSize()).toArray();
        return ActivationStats.collect(TransformerModel.create(w), tokens, 20, Progress.none()).byName(w);
    }

    /** Everything a calibration run gives, Hessians and E|x| included, over enough tokens for full-rank Hessians. */
    static Calibration calibration(ModelWeights w) {
        int[] tokens = new Random(1).ints(240, 0, w.config().vocabSize()).toArray();
        ActivationStats a = ActivationStats.collect(TransformerModel.create(w), tokens, 20, true, Progress.none());
        return new Calibration(a.byName(w), a.meanAbsByName(w), a.hessiansByName(w), tokens.length, "random tokens");
    }

    @Test
    void groupRuleFallsBackExplicitly() {
        GroupRule r64 = new GroupRule(64, QuantType.F16);
        assertEquals(OptionalInt.of(64), r64.groupFor(768));
        assertEquals(OptionalInt.of(32), r64.groupFor(96));
        assertEquals(OptionalInt.empty(), r64.groupFor(172));
        GroupRule r128 = new GroupRule(128, QuantType.F32);
        assertEquals(OptionalInt.of(128), r128.groupFor(768));
        assertEquals(OptionalInt.of(64), r128.groupFor(192));
        assertEquals(OptionalInt.of(64), r128.groupFor(64));
        assertEquals(OptionalInt.of(256), new GroupRule(256, QuantType.F16).groupFor(512));
        assertEquals(OptionalInt.of(128), new GroupRule(256, QuantType.F16).groupFor(384));
        assertThrows(EngineException.class, () -> new GroupRule(48, QuantType.F16));
        assertThrows(EngineException.class, () -> new GroupRule(64, QuantType.Q8_0));
    }

    @Test
    void bitAccountingIsExact() {
        // dim 64, hidden 96 (ffn_down rows of 96: g64 does not fit, g32 does), kv dim 32, vocab 64, tied head.
        try (ModelWeights src = TinyModels.llama(64, 96, 2, 64, 1);
             QuantizedModel q = ModelQuantizer.quantize(src, Recipe.INT4, DEFAULTS, null, Progress.none())) {
            // Independent formula: int4 = 4 bits + fp16 scale per group; int8 embedding = 8 bits + fp16 per 64.
            long embed = 64L * 64 + 2L * 64 * 64 / 64;
            long perLayer = int4(64, 64, 64) + 2 * int4(32, 64, 64) + int4(64, 64, 64) + 2 * int4(96, 64, 64) + int4(64, 96, 32);
            long expected = embed + 2 * perLayer;
            QuantReport rep = q.report();
            assertEquals(expected, rep.matrixBytes());
            long weights = 64L * 64 + 2 * (64L * 64 * 2 + 2L * 32 * 64 + 3L * 96 * 64);
            assertEquals(weights, rep.matrixWeights());
            assertEquals(8.0 * expected / weights, rep.bitsPerMatrixWeight(), 1e-12);
            long vectors = 64 * (2 * 2 + 1);
            assertEquals((8.0 * expected + 32.0 * vectors) / (weights + vectors), rep.bitsPerParameter(), 1e-12);
            QuantReport.Row down = rep.rows().stream().filter(r -> r.name().equals("blk.0.ffn_down.weight")).findFirst().orElseThrow();
            assertEquals("int4 g32 sym", down.storage());
            assertTrue(down.note().contains("group 32"), down.note());
            // Every row's bytes are the real storage of the matrix in the result.
            for (QuantReport.Row r : rep.rows()) {
                String first = r.name().split(" = ")[0];
                assertEquals(q.weights().matrix(first).storageBytes(), r.bytes(), r.name());
            }
            assertTrue(rep.toMarkdown().contains(String.format("%.4f bits/weight", 8.0 * expected / weights)));
        }
    }

    private static long int4(int rows, int cols, int g) {
        return (long) rows * cols / 2 + 2L * rows * cols / g;
    }

    @Test
    void everyRecipeReportsWhatItStores() {
        try (ModelWeights src = TinyModels.llama(64, 100, 1, 64, 2)) {
            Calibration cal = calibration(src);
            for (Recipe r : Recipe.values()) {
                QuantSettings s = r.kind() == Recipe.Kind.TARGET ? with(6.0, 0, QuantType.F32) : with(3.0, 0, QuantType.F32);
                try (QuantizedModel q = ModelQuantizer.quantizeCalibrated(src, r, s, cal, Progress.none())) {
                    long bytes = 0;
                    for (WeightMatrix m : q.weights().distinctMatrices()) {
                        bytes += m.storageBytes();
                    }
                    assertEquals(bytes, q.report().matrixBytes(), r.label());
                    // hidden 100: packed types store ffn_down's rows padded to 128 (and count the padding);
                    // GGML blocks cannot be padded, so those recipes keep it in the fallback type, and say so.
                    WeightMatrix down = q.weights().matrix("blk.0.ffn_down.weight");
                    QuantReport.Row downRow = q.report().rows().stream().filter(row -> row.name().equals("blk.0.ffn_down.weight"))
                            .findFirst().orElseThrow();
                    if (r.type().isPacked()) {
                        PaddedMatrix p = assertInstanceOf(PaddedMatrix.class, down, r.label());
                        assertEquals(r.type(), down.type(), r.label());
                        assertEquals(100, down.cols());
                        assertEquals(128, p.stored().cols());
                        assertEquals(100L * 64, downRow.weights());
                        assertEquals(128L * 64, downRow.stored(), r.label());
                        assertTrue(downRow.note().contains("padded to 128"), downRow.note());
                        if (!r.type().hasMixCounts()) {
                            assertEquals(r.type().bytesFor(64, 128, p.stored().spec()), down.storageBytes(), r.label());
                        }
                    } else {
                        assertEquals(QuantType.F32, down.type(), r.label());
                        assertTrue(downRow.method().equals("fallback") && downRow.note().contains("--fallback"), r.label());
                    }
                    WeightMatrix gate = q.weights().matrix("blk.0.ffn_gate.weight");
                    assertEquals(r.type(), gate.type(), r.label());
                    // Tied head: one matrix, quantized once, under both names; config and vectors carried over.
                    assertSame(q.weights().matrix("token_embd.weight"), q.weights().matrix("output.weight"), r.label());
                    assertEquals(QuantType.INT8, q.weights().matrix("output.weight").type());
                    assertEquals(src.config(), q.weights().config());
                    assertEquals(src.vectors().keySet(), q.weights().vectors().keySet());
                    // It runs.
                    TransformerModel model = TransformerModel.create(q.weights());
                    InferenceState st = model.newState(16);
                    float[] logits = model.forward(st, new int[] {1, 5, 9, 3}, 0, 4);
                    for (float v : logits) {
                        assertTrue(Float.isFinite(v), r.label());
                    }
                }
            }
        }
    }

    @Test
    void int8StaysCloseToTheFloatModel() {
        try (ModelWeights src = TinyModels.llama(64, 96, 2, 64, 3);
             QuantizedModel q = ModelQuantizer.quantize(src, Recipe.INT8, DEFAULTS, null, Progress.none())) {
            int[] tokens = {3, 14, 15, 9, 26, 5, 35};
            float[] ref = TransformerModel.create(src).forward(TransformerModel.create(src).newState(16), tokens, 0, tokens.length);
            TransformerModel qm = TransformerModel.create(q.weights());
            float[] got = qm.forward(qm.newState(16), tokens, 0, tokens.length);
            double num = 0, den = 0;
            for (int i = 0; i < ref.length; i++) {
                num += (got[i] - ref[i]) * (got[i] - ref[i]);
                den += ref[i] * ref[i];
            }
            // 8-bit codes err by ~0.3% per weight; on a random 2-layer model that is ~1.5% in the logits (int4: ~16%).
            assertTrue(Math.sqrt(num / den) < 0.03, "relative logit error " + Math.sqrt(num / den));
        }
    }

    @Test
    void gpt2WithTransposedStorageQuantizes() {
        try (ModelWeights src = TinyModels.gpt2(64, 2, 64, 8)) {
            int[] tokens = {3, 14, 15, 9, 26, 5, 35};
            TransformerModel f = TransformerModel.create(src);
            float[] ref = f.forward(f.newState(16), tokens, 0, tokens.length);
            for (Recipe r : new Recipe[] {Recipe.INT8, Recipe.Q8_0, Recipe.NASH_SWARM, Recipe.TARGET_BPW}) {
                try (QuantizedModel q = ModelQuantizer.quantize(src, r, with(6.0, 0, QuantType.F16), null, Progress.none())) {
                    assertEquals(r.type(), q.weights().matrix("blk.1.attn_qkv.weight").type(), r.label());
                    assertEquals(QuantType.INT8, q.weights().matrix("position_embd.weight").type(), "positions take --embed-type");
                    // Rows read through the [in][out] layout: the quantized matrix is close to the source (a transposition
                    // mix-up would give ≈ 1.4; 70% 2-bit groups give ≈ 0.36, 8-bit codes ≈ 0.003).
                    float[][] a = TinyModels.rows(src.matrix("blk.0.ffn_down.weight")), b = TinyModels.rows(q.weights().matrix("blk.0.ffn_down.weight"));
                    double num = 0, den = 0;
                    for (int i = 0; i < a.length; i++) {
                        for (int j = 0; j < a[0].length; j++) {
                            num += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
                            den += a[i][j] * a[i][j];
                        }
                    }
                    assertTrue(Math.sqrt(num / den) < (r.type() == QuantType.MIXED ? 0.5 : 0.01), r.label() + ": relative weight error " + Math.sqrt(num / den));
                    TransformerModel qm = TransformerModel.create(q.weights());
                    float[] got = qm.forward(qm.newState(16), tokens, 0, tokens.length);
                    if (r == Recipe.INT8 || r == Recipe.Q8_0) {
                        double n2 = 0, d2 = 0;
                        for (int i = 0; i < ref.length; i++) {
                            n2 += (got[i] - ref[i]) * (got[i] - ref[i]);
                            d2 += ref[i] * ref[i];
                        }
                        assertTrue(Math.sqrt(n2 / d2) < 0.03, r.label() + ": relative logit error " + Math.sqrt(n2 / d2));
                    }
                }
            }
        }
    }

    @Test
    void nashSwarmSplitsEveryMatrixByImportance() {
        try (ModelWeights src = TinyModels.llama(64, 96, 2, 64, 4);
             QuantizedModel q = ModelQuantizer.quantize(src, Recipe.NASH_SWARM, DEFAULTS, null, Progress.none())) {
            int mixed = 0;
            for (String name : src.matrices().keySet()) {
                if (!(q.weights().matrix(name) instanceof MixedGroupMatrix m)) {
                    continue;
                }
                mixed++;
                int g = m.spec().groupSize(), groups = m.rows() * (m.cols() / g);
                long[] c = NashSplit.SEEDS.counts(groups);
                // whole tiles of 16 rows × one group: each share within half a tile of its target
                assertTrue(Math.abs(m.counts().groups8() - c[0]) <= 8, name + " 8-bit groups " + m.counts().groups8());
                long upTo4 = m.counts().groups8() + m.counts().groups4();
                assertTrue(Math.abs(upTo4 - c[0] - c[1]) <= 8, name + " 8- and 4-bit groups " + upTo4);
                assertEquals(groups, upTo4 + m.counts().groups2(), name);
                float[] imp = SwarmImportance.groupMeans(RowSource.of(src.matrix(name)), DEFAULTS.swarmRadius(), g);
                assertOrdered(imp, m, name);
            }
            assertEquals(2 * 7, mixed);
        }
    }

    /**
     * Widths are chosen per tile of 16 rows × one group: every group of a tile has one width, and every tile at a wider
     * width has at least the mean importance of every tile at a narrower one.
     */
    static void assertOrdered(float[] imp, MixedGroupMatrix m, String name) {
        int gpr = m.cols() / m.spec().groupSize(), rows = m.rows();
        double[] mean = new double[(rows + 15) / 16 * gpr];
        for (int i = 0; i < imp.length; i++) {
            int r = i / gpr;
            assertEquals(m.width(r / 16 * 16, i % gpr), m.width(r, i % gpr), name + ": row " + r + " group " + i % gpr + " differs from its tile");
            mean[r / 16 * gpr + i % gpr] += imp[i] / Math.min(16, rows - r / 16 * 16);
        }
        double[] min = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE}, max = new double[3];
        for (int t = 0; t < mean.length; t++) {
            int k = m.width(t / gpr * 16, t % gpr) / 4; // 2→0, 4→1, 8→2
            min[k] = Math.min(min[k], mean[t]);
            max[k] = Math.max(max[k], mean[t]);
        }
        double eps = 1e-6 * Math.max(max[2], Math.max(max[1], max[0]));
        assertTrue(min[2] >= max[1] - eps && min[1] >= max[0] - eps, name + ": importance order broken");
    }

    @Test
    void calibratedRecipesUseActivationStatistics() {
        try (ModelWeights src = TinyModels.llama(64, 96, 1, 64, 5)) {
            assertThrows(EngineException.class, () -> ModelQuantizer.quantize(src, Recipe.NASH_SWARM_CALIB, DEFAULTS, null, Progress.none()));
            Map<String, float[]> stats = stats(src);
            try (QuantizedModel q = ModelQuantizer.quantize(src, Recipe.NASH_SWARM_CALIB, DEFAULTS, stats, Progress.none())) {
                MixedGroupMatrix m = (MixedGroupMatrix) q.weights().matrix("blk.0.ffn_down.weight");
                float[] imp = CalibratedImportance.groupMeans(RowSource.of(src.matrix("blk.0.ffn_down.weight")), stats.get("blk.0.ffn_down.weight"), 32);
                assertOrdered(imp, m, "ffn_down");
            }
            // A channel that is 10^6 times louder makes every group holding it important.
            float[] loud = stats.get("blk.0.attn_q.weight").clone();
            loud[5] *= 1e6f;
            Map<String, float[]> doctored = new java.util.HashMap<>(stats);
            doctored.put("blk.0.attn_q.weight", loud);
            try (QuantizedModel q = ModelQuantizer.quantize(src, Recipe.NASH_SWARM_CALIB, DEFAULTS, doctored, Progress.none())) {
                MixedGroupMatrix m = (MixedGroupMatrix) q.weights().matrix("blk.0.attn_q.weight");
                // 64 rows of one g64 group each, 4 tiles of 16 rows: the widest width goes to the tile whose rows have
                // the largest Σ w[r][5]².
                float[][] w = TinyModels.rows(src.matrix("blk.0.attn_q.weight"));
                double[] loudness = new double[4];
                for (int r = 0; r < 64; r++) {
                    loudness[r / 16] += (double) w[r][5] * w[r][5];
                }
                int loudest = 0;
                for (int t = 1; t < 4; t++) {
                    loudest = loudness[t] > loudness[loudest] ? t : loudest;
                }
                // (10% and 30% of 64 groups are 6 and 19: the nearest whole tiles are none at 8 bits and one at 4)
                for (int r = 0; r < 64; r++) {
                    assertEquals(r / 16 == loudest ? 4 : 2, m.width(r, 0), "row " + r + " (loudest tile " + loudest + ")");
                }
            }
        }
    }

    /** Matrices of 8 or more groups per row get one width per group column, so that they run as uniform parts (MixedColumns). */
    @Test
    void targetBpwChoosesWidthsPerGroupColumnInWideMatrices() {
        try (ModelWeights src = TinyModels.llama(512, 640, 1, 64, 8);
             QuantizedModel q = ModelQuantizer.quantize(src, Recipe.TARGET_BPW, with(3.5, 0, QuantType.F16), null, Progress.none())) {
            int wide = 0;
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (String name : src.matrices().keySet()) {
                if (q.weights().matrix(name) instanceof MixedGroupMatrix m && m.cols() / m.spec().groupSize() >= 8) {
                    wide++;
                    assertFalse(m.widthsChangeDownColumns(), name); // so the CPU backend says nothing of 16-row tiles
                    for (int gi = 0; gi < m.cols() / m.spec().groupSize(); gi++) {
                        seen.add(m.width(0, gi));
                        for (int r = 1; r < m.rows(); r++) {
                            assertEquals(m.width(0, gi), m.width(r, gi), name + " row " + r + " group " + gi);
                        }
                    }
                }
            }
            assertTrue(wide >= 5, "wide mixed matrices: " + wide);
            assertTrue(seen.size() >= 2, "widths used: " + seen);
        }
    }

    /** Nash-Swarm chooses widths by importance per group of each row, so its maps change down the group columns. */
    @Test
    void nashSwarmWidthsChangeDownColumns() {
        try (ModelWeights src = TinyModels.llama(512, 640, 1, 64, 8);
             QuantizedModel q = ModelQuantizer.quantize(src, Recipe.NASH_SWARM, DEFAULTS, null, Progress.none())) {
            int mixed = 0;
            for (String name : src.matrices().keySet()) {
                if (q.weights().matrix(name) instanceof MixedGroupMatrix m) {
                    mixed++;
                    boolean changes = false;
                    for (int r = 1; r < m.rows() && !changes; r++) {
                        for (int gi = 0; gi < m.cols() / m.spec().groupSize(); gi++) {
                            changes |= m.width(r, gi) != m.width(0, gi);
                        }
                    }
                    assertEquals(changes, m.widthsChangeDownColumns(), name);
                    assertTrue(changes, name + ": a Nash-Swarm map with one width per group column");
                }
            }
            assertTrue(mixed >= 5, "mixed matrices: " + mixed);
        }
    }

    @Test
    void targetBpwMeetsTheWholeModelBudget() {
        try (ModelWeights src = TinyModels.llama(128, 192, 2, 64, 6)) {
            Map<String, float[]> stats = stats(src);
            for (Recipe r : new Recipe[] {Recipe.TARGET_BPW, Recipe.TARGET_BPW_CALIB}) {
                for (double bpw : new double[] {4.0, 5.5}) {
                    try (QuantizedModel q = ModelQuantizer.quantize(src, r, with(bpw, 0.01, QuantType.F16), stats, Progress.none())) {
                        QuantReport rep = q.report();
                        double budget = Math.floor(bpw * rep.matrixWeights());
                        long bits = 8 * rep.matrixBytes();
                        assertTrue(bits <= budget, r.label() + " " + bpw + ": " + bits + " > " + budget);
                        // Within one tile's step (2→8 bits at g64 in 16 rows: two or three groups per row take 16-row tiles) of the budget.
                        assertTrue(budget - bits < 16 * 6 * 64 + 8, r.label() + " " + bpw + ": " + (budget - bits) + " bits unspent");
                        long outliers = rep.rows().stream().mapToLong(QuantReport.Row::outliers).sum();
                        assertTrue(outliers > 0, "outliers are kept and counted");
                    }
                }
            }
            // Uncalibrated allocation ignores statistics it is handed; the calibrated one follows them (at some budget:
            // with a few dozen group columns one budget may pick the same ones).
            boolean differs = false;
            for (double bpw : new double[] {3.5, 4.5, 5.5, 6.5}) {
                try (QuantizedModel plain = ModelQuantizer.quantize(src, Recipe.TARGET_BPW, with(bpw, 0, QuantType.F16), null, Progress.none());
                     QuantizedModel handed = ModelQuantizer.quantize(src, Recipe.TARGET_BPW, with(bpw, 0, QuantType.F16), stats, Progress.none());
                     QuantizedModel calib = ModelQuantizer.quantize(src, Recipe.TARGET_BPW_CALIB, with(bpw, 0, QuantType.F16), stats, Progress.none())) {
                    for (String name : src.matrices().keySet()) {
                        if (plain.weights().matrix(name) instanceof MixedGroupMatrix a) {
                            MixedGroupMatrix b = (MixedGroupMatrix) handed.weights().matrix(name), c = (MixedGroupMatrix) calib.weights().matrix(name);
                            for (int r = 0; r < a.rows(); r++) {
                                for (int gi = 0; gi < a.cols() / a.spec().groupSize(); gi++) {
                                    assertEquals(a.width(r, gi), b.width(r, gi), name);
                                    differs |= a.width(r, gi) != c.width(r, gi);
                                }
                            }
                        }
                    }
                }
            }
            assertTrue(differs, "calibrated importance changed no width");
            EngineException e = assertThrows(EngineException.class,
                    () -> ModelQuantizer.quantize(src, Recipe.TARGET_BPW, with(2.0, 0, QuantType.F16), null, Progress.none()));
            assertTrue(e.getMessage().contains("not achievable"), e.getMessage());
        }
    }

    @Test
    void perWeightAndOutliersAreCounted() {
        try (ModelWeights src = TinyModels.llama(64, 96, 1, 64, 7)) {
            try (QuantizedModel q = ModelQuantizer.quantize(src, Recipe.NASH_SWARM_WEIGHT, DEFAULTS, null, Progress.none())) {
                PerWeightMixedMatrix m = (PerWeightMixedMatrix) q.weights().matrix("blk.0.ffn_up.weight");
                long[] c = NashSplit.SEEDS.counts(96 * 64);
                assertEquals(c[0], m.counts().groups8());
                assertEquals(c[1], m.counts().groups4());
                assertEquals(c[2], m.counts().groups2());
                assertTrue(m.bitsPerWeight() > 5.5, "per-weight widths cost the map: " + m.bitsPerWeight());
            }
            try (QuantizedModel q = ModelQuantizer.quantize(src, Recipe.NASH_SWARM, with(3, 0.01, QuantType.F16), null, Progress.none())) {
                MixedGroupMatrix m = (MixedGroupMatrix) q.weights().matrix("blk.0.ffn_up.weight");
                assertEquals(Math.round(0.01 * 96 * 64), m.counts().outliers());
                assertEquals(QuantType.MIXED.bytesFor(96, 64, GroupSpec.symmetric(64), m.counts()), m.storageBytes());
            }
            assertThrows(EngineException.class, () -> ModelQuantizer.quantize(src, Recipe.INT4, with(3, 0.01, QuantType.F16), null, Progress.none()));
        }
    }
}

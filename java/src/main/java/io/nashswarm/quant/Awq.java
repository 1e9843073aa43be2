package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AWQ (Lin et al. 2023): before rounding, scale input channel c of a matrix up by {@code s_c} and its
 * input down by the same factor, so that channels that carry large activations lose less to
 * rounding. {@code s = E|x|^α} (normalized to a geometric mean of 1 between its extremes), α chosen per
 * input on a grid of 21 values in [0, 1] for the least output error {@code Σ_r e_rᵀ·H·e_r} of the
 * rounded matrices on the calibration inputs (H = 2·XᵀX/n).
 *
 * <p>The 1/s is folded exactly into what produces the input (LLaMA):
 * <ul>
 *   <li>q, k, v share one s, folded into {@code attn_norm} (RMSNorm weight);</li>
 *   <li>gate, up share one s, folded into {@code ffn_norm};</li>
 *   <li>down's s is folded into the rows of up (its input is silu(gate)·up, linear in up);</li>
 *   <li>attn_output's input is a mix of v's rows; its s is folded into v's rows when every head has
 *       its own v (no grouped-query sharing); otherwise attn_output is left unscaled.</li>
 * </ul>
 * Nothing is stored beyond the changed float weights, so files and kernels are unchanged.
 */
public final class Awq {
    private static final int GRID = 20;
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Awq() {}

    /** One input shared by some matrices, and where its 1/s goes. */
    record Input(String name, List<String> matrices, String foldVector, String foldRows) {}

    /** The inputs of a LLaMA model whose scales can be folded exactly. */
    static List<Input> inputs(ModelWeights w) {
        if (w.config().architecture() != Architecture.LLAMA) {
            throw new EngineException("AWQ recipes fold scales into LLaMA's RMSNorm and linear layers; "
                    + w.config().architecture() + " models are not supported");
        }
        List<Input> out = new ArrayList<>();
        boolean vPerHead = w.config().kvDim() == w.config().dim();
        for (int l = 0; l < w.config().nLayers(); l++) {
            String p = "blk." + l + ".";
            out.add(new Input(p + "attn_in", List.of(p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"), p + "attn_norm.weight", null));
            if (vPerHead) {
                out.add(new Input(p + "attn_out", List.of(p + "attn_output.weight"), null, p + "attn_v.weight"));
            }
            out.add(new Input(p + "ffn_in", List.of(p + "ffn_gate.weight", p + "ffn_up.weight"), p + "ffn_norm.weight", null));
            out.add(new Input(p + "ffn_down", List.of(p + "ffn_down.weight"), null, p + "ffn_up.weight"));
        }
        return out;
    }

    /** The scales found and what was chosen, for the report. */
    public record Search(Map<String, float[]> scales, List<String> notes) {}

    /**
     * Searches α for every foldable input, rounding as {@code type} at the group {@code rule} gives.
     *
     * @param meanAbs  E|x| per input channel by matrix name
     * @param hessians 2·XᵀX/n by matrix name
     */
    public static Search search(ModelWeights w, QuantType type, boolean asymmetric, GroupRule rule, Map<String, float[]> meanAbs,
                                Map<String, Hessian> hessians) {
        Map<String, float[]> scales = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        for (Input in : inputs(w)) {
            String first = in.matrices().getFirst();
            float[] a = meanAbs.get(first);
            Hessian h = hessians.get(first);
            if (a == null || h == null) {
                throw new EngineException("calibration saw no inputs of " + first + "; AWQ cannot scale it");
            }
            h.checkRank(first);
            int cols = a.length;
            int stored = PaddedMatrix.storedCols(cols);
            int g = rule.groupFor(stored).orElseThrow(() -> new EngineException("no group fits rows of " + cols));
            double bestErr = Double.POSITIVE_INFINITY, base = 0;
            float[] best = null;
            int bestStep = 0;
            for (int step = 0; step <= GRID; step++) {
                float[] s = scales(a, (double) step / GRID);
                double err = 0;
                for (String m : in.matrices()) {
                    err += outputError(RowSource.of(w.matrix(m)), s, h, type, asymmetric, g, stored);
                }
                if (step == 0) {
                    base = err;
                }
                if (err < bestErr) {
                    bestErr = err;
                    best = s;
                    bestStep = step;
                }
            }
            scales.put(in.name(), best);
            notes.add(String.format("AWQ %s: α = %.2f, output error %.4g (α = 0: %.4g)", in.name(), (double) bestStep / GRID, bestErr, base));
        }
        return new Search(scales, notes);
    }

    /** {@code s = a^α / sqrt(max·min)} with a floor on a (dead channels), as AWQ normalizes it. */
    static float[] scales(float[] meanAbs, double alpha) {
        double[] s = new double[meanAbs.length];
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (int c = 0; c < s.length; c++) {
            s[c] = Math.pow(Math.max(meanAbs[c], 1e-4), alpha);
            lo = Math.min(lo, s[c]);
            hi = Math.max(hi, s[c]);
        }
        double norm = Math.sqrt(lo * hi);
        float[] out = new float[s.length];
        for (int c = 0; c < s.length; c++) {
            out[c] = (float) (s[c] / norm);
        }
        return out;
    }

    /** Σ_r e_rᵀ·H·e_r of rounding the rows scaled by s (then unscaled): the output error on the calibration inputs. */
    static double outputError(RowSource src, float[] s, Hessian h, QuantType type, boolean asymmetric, int g, int stored) {
        int cols = src.cols(), bits = type.codeBits();
        GroupCodec codec = GroupCodec.of(type, asymmetric);
        float[] row = new float[cols], scaled = new float[stored];
        double[] e = new double[cols];
        double total = 0;
        for (int r = 0; r < src.rows(); r++) {
            src.row(r, row);
            for (int c = 0; c < cols; c++) {
                scaled[c] = row[c] * s[c];
            }
            for (int gi = 0; gi < stored / g; gi++) {
                GroupQuantizer.Result q = codec.params(scaled, gi * g, g, bits);
                for (int i = 0; i < g && gi * g + i < cols; i++) {
                    int c = gi * g + i;
                    e[c] = row[c] - codec.value(codec.code(scaled[c], q.scale(), q.zero(), bits), q.scale(), q.zero()) / s[c];
                }
            }
            total += h.quadratic(e, 0, 0, cols);
        }
        return total;
    }

    /**
     * The model with every scale folded in: matrices of an input get columns × s, the norm weight or the
     * producing rows get × 1/s. The function is unchanged in exact arithmetic. Changed matrices become F32
     * (in the returned model's arena), all others are shared with {@code w}.
     */
    public static ModelWeights fold(ModelWeights w, Map<String, float[]> scales) {
        Map<String, float[]> columnScale = new LinkedHashMap<>();
        Map<String, float[]> rowScale = new LinkedHashMap<>();
        Map<String, float[]> vectors = new LinkedHashMap<>(w.vectors());
        for (Input in : inputs(w)) {
            float[] s = scales.get(in.name());
            if (s == null) {
                continue;
            }
            for (String m : in.matrices()) {
                columnScale.put(m, s);
            }
            if (in.foldVector() != null) {
                float[] v = vectors.get(in.foldVector()).clone();
                for (int c = 0; c < v.length; c++) {
                    v[c] /= s[c];
                }
                vectors.put(in.foldVector(), v);
            } else {
                rowScale.put(in.foldRows(), s);
            }
        }
        Arena arena = Arena.ofShared();
        Map<String, WeightMatrix> matrices = new LinkedHashMap<>();
        w.matrices().forEach((name, m) -> {
            float[] cs = columnScale.get(name), rs = rowScale.get(name);
            matrices.put(name, cs == null && rs == null ? m : scaled(m, cs, rs, arena));
        });
        return new ModelWeights(w.config(), matrices, vectors, arena, w.source() + " with AWQ scales folded in");
    }

    /** {@code diag(1/rs)·W·diag(cs)} as F32 (either may be null). */
    private static WeightMatrix scaled(WeightMatrix m, float[] cs, float[] rs, Arena arena) {
        int rows = m.rows(), cols = m.cols();
        MemorySegment seg = arena.allocate(4L * rows * cols, 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) {
                float v = row[c];
                if (cs != null) {
                    v *= cs[c];
                }
                if (rs != null) {
                    v /= rs[r];
                }
                seg.setAtIndex(LE, (long) r * cols + c, v);
            }
        }
        return Matrices.of(QuantType.F32, seg, rows, cols, Layout.OUT_IN);
    }
}

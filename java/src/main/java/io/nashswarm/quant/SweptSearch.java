package io.nashswarm.quant;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.List;

/**
 * GPTQ's swept choice of a group's parameters ({@link Gptq.ScaleSearch#SWEPT}): every candidate (scale, zero) of
 * the codec rounds the group with GPTQ's compensation inside it, and the first candidate of least GPTQ loss
 * {@code Σ_j e_j²} is kept.
 *
 * <p>Integer codes run the candidates side by side, one per vector lane: the trials of 32–48 candidates are
 * the same sequence of operations on different numbers, so lanes replace the candidate loop (that loop was
 * most of a 2048-wide row's sweep). The lanes repeat the scalar arithmetic operation by operation (the weight
 * rounded to float, a float division, round half up, a multiply and a subtract per update, no fused
 * multiply-add), so both paths pick the same candidate. Codebooks, and groups with a zero scale among their
 * candidates, take the scalar path.
 */
final class SweptSearch {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * Float.SIZE));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(D.length() * Integer.SIZE));
    private static final int L = D.length();

    /**
     * The diagonal n×n blocks of U for groups of n, each transposed ({@code [g·n² + k·n + i] = U[g·n + i][g·n + k]}),
     * so that a column of a block is read in order: U's own columns stride by whole rows of 2048–8192 doubles,
     * which map to one set of the L1 cache.
     */
    static double[] diagonalBlocks(double[] u, int cols, int n) {
        double[] out = new double[cols * n];
        for (int g = 0; g < cols / n; g++) {
            int base = g * n * n, c0 = g * n;
            for (int i = 0; i < n; i++) {
                for (int k = i; k < n; k++) {
                    out[base + k * n + i] = u[(c0 + i) * cols + c0 + k];
                }
            }
        }
        return out;
    }

    private final double[] blocks;

    /** @param blocks {@link #diagonalBlocks} of U for this group size */
    SweptSearch(double[] blocks) {
        this.blocks = blocks;
    }

    /** Per-thread scratch, sized for the largest group and candidate count seen. */
    private double[] errors = new double[0], scales = new double[0], zeros = new double[0], losses = new double[0];
    private float[] floatScales = new float[0];
    private final double[] partial = new double[4 * L];

    /**
     * Sets {@code scales[at]}, {@code zeros[at]} to the chosen candidate for the group at permuted columns
     * {@code [p, p + n)} of the row at {@code w[wr]} (gbuf: the same weights as floats, for the candidates).
     */
    void choose(GroupCodec codec, float[] gbuf, double[] w, int wr, int p, int n, int bits, double[] u, int cols, float[] outScales,
                int[] outZeros, int at) {
        List<GroupQuantizer.Result> cands = codec.candidates(gbuf, 0, n, bits);
        if (cands.size() == 1) {
            outScales[at] = cands.getFirst().scale();
            outZeros[at] = cands.getFirst().zero();
            return;
        }
        boolean lanes = codec instanceof GroupCodec.IntegerCodes;
        for (GroupQuantizer.Result c : cands) {
            lanes &= c.scale() != 0f;
        }
        GroupQuantizer.Result best = lanes ? inLanes(cands, w, wr + p, p, n, bits) : scalar(codec, cands, w, wr + p, p, n, bits, u, cols);
        outScales[at] = best.scale();
        outZeros[at] = best.zero();
    }

    /** One candidate at a time; a trial stops once its loss reaches the best so far. */
    private static GroupQuantizer.Result scalar(GroupCodec codec, List<GroupQuantizer.Result> cands, double[] w, int off, int p, int n,
                                                int bits, double[] u, int cols) {
        double[] trial = new double[n];
        double best = Double.POSITIVE_INFINITY;
        GroupQuantizer.Result chosen = cands.getFirst();
        for (GroupQuantizer.Result cand : cands) {
            float s = cand.scale();
            int z = cand.zero();
            System.arraycopy(w, off, trial, 0, n);
            double loss = 0;
            for (int i = 0; i < n && loss < best; i++) {
                int pp = p + i, ub = pp * cols + p;
                double e = (trial[i] - codec.value(codec.code((float) trial[i], s, z, bits), s, z)) / u[pp * cols + pp];
                loss += e * e;
                for (int k = i + 1; k < n; k++) {
                    trial[k] -= e * u[ub + k];
                }
            }
            if (loss < best) {
                best = loss;
                chosen = cand;
            }
        }
        return chosen;
    }

    /**
     * All candidates at once, L per vector. Column k of the group is {@code t_k = w_k − Σ_{i<k} e_i·U_ik} (the
     * updates in the scalar order, i ascending), then {@code e_k = (t_k − value(code(t_k))) / U_kk} per lane.
     */
    private GroupQuantizer.Result inLanes(List<GroupQuantizer.Result> cands, double[] w, int off, int p, int n, int bits) {
        int m = cands.size(), vectors = (m + L - 1) / L, width = vectors * L;
        if (scales.length < width) {
            scales = new double[width];
            zeros = new double[width];
            floatScales = new float[width];
            losses = new double[width];
        }
        if (errors.length < width * n) {
            errors = new double[width * n];
        }
        for (int c = 0; c < width; c++) {
            GroupQuantizer.Result cand = cands.get(c < m ? c : 0); // padding lanes repeat the first; ties keep the first
            floatScales[c] = cand.scale();
            scales[c] = cand.scale();
            zeros[c] = cand.zero();
        }
        int base = p * n; // the group's block of U (p = g·n)
        DoubleVector low = DoubleVector.zero(D), high = DoubleVector.broadcast(D, (1 << bits) - 1 + 0.5);
        for (int v = 0; v < vectors; v++) {
            int lane0 = v * L, e0 = v * L * n; // this vector's errors: e_i at errors[e0 + i·L]
            FloatVector sf = FloatVector.fromArray(F, floatScales, lane0);
            DoubleVector sd = DoubleVector.fromArray(D, scales, lane0), zd = DoubleVector.fromArray(D, zeros, lane0);
            DoubleVector zHalf = zd.add(0.5), loss = DoubleVector.zero(D);
            // Columns four at a time: the updates from the columns before the four run as four independent chains
            // (one chain waits on each subtract's latency), then the four finish in order within themselves.
            for (int k0 = 0; k0 < n; k0 += 4) {
                int chunk = Math.min(4, n - k0), u0 = base + k0 * n;
                if (chunk == 4) {
                    DoubleVector t0 = DoubleVector.broadcast(D, w[off + k0]), t1 = DoubleVector.broadcast(D, w[off + k0 + 1]),
                            t2 = DoubleVector.broadcast(D, w[off + k0 + 2]), t3 = DoubleVector.broadcast(D, w[off + k0 + 3]);
                    for (int i = 0; i < k0; i++) {
                        DoubleVector e = DoubleVector.fromArray(D, errors, e0 + i * L);
                        t0 = t0.sub(e.mul(blocks[u0 + i]));
                        t1 = t1.sub(e.mul(blocks[u0 + n + i]));
                        t2 = t2.sub(e.mul(blocks[u0 + 2 * n + i]));
                        t3 = t3.sub(e.mul(blocks[u0 + 3 * n + i]));
                    }
                    t0.intoArray(partial, 0);
                    t1.intoArray(partial, L);
                    t2.intoArray(partial, 2 * L);
                    t3.intoArray(partial, 3 * L);
                } else {
                    for (int j = 0; j < chunk; j++) {
                        DoubleVector t = DoubleVector.broadcast(D, w[off + k0 + j]);
                        for (int i = 0; i < k0; i++) {
                            t = t.sub(DoubleVector.fromArray(D, errors, e0 + i * L).mul(blocks[u0 + j * n + i]));
                        }
                        t.intoArray(partial, j * L);
                    }
                }
                for (int j = 0; j < chunk; j++) {
                    int k = k0 + j, uk = base + k * n; // column k of the group's block of U
                    DoubleVector t = DoubleVector.fromArray(D, partial, j * L);
                    for (int i = k0; i < k; i++) {
                        t = t.sub(DoubleVector.fromArray(D, errors, e0 + i * L).mul(blocks[uk + i]));
                    }
                    // code = clamp(round(float(t) / s) + z, 0, top), with round(x) = floor(x + 0.5): x + 0.5 + z is exact
                    // in double, and clamping to [0, top + 0.5] before truncating gives the same integer.
                    FloatVector q = ((FloatVector) t.convertShape(VectorOperators.D2F, F, 0)).div(sf);
                    DoubleVector y = ((DoubleVector) q.convertShape(VectorOperators.F2D, D, 0)).add(zHalf).max(low).min(high);
                    DoubleVector code = (DoubleVector) ((IntVector) y.convertShape(VectorOperators.D2I, I, 0)).convertShape(VectorOperators.I2D, D, 0);
                    DoubleVector e = t.sub(code.sub(zd).mul(sd)).div(blocks[uk + k]);
                    e.intoArray(errors, e0 + k * L);
                    loss = loss.add(e.mul(e));
                }
            }
            loss.intoArray(losses, lane0);
        }
        int chosen = 0;
        for (int c = 1; c < m; c++) {
            if (losses[c] < losses[chosen]) {
                chosen = c;
            }
        }
        return cands.get(chosen);
    }
}

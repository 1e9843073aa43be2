package io.nashswarm.quant;

import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Small random LLaMA models held in memory (F32), for tests that must run without the real data. */
final class TinyModels {
    private TinyModels() {}

    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A tied-embedding LLaMA with Gaussian weights (std 0.1; norms around 1). */
    static ModelWeights llama(int dim, int hidden, int layers, int vocab, long seed) {
        return llama(dim, hidden, layers, 2, vocab, seed);
    }

    /** As above with {@code kvHeads} of the 4 heads' keys and values (4: every head its own). */
    static ModelWeights llama(int dim, int hidden, int layers, int kvHeads, int vocab, long seed) {
        ModelConfig c = new ModelConfig(Architecture.LLAMA, dim, hidden, layers, 4, kvHeads, vocab, 64, 1e-5f, 10000f, RopeStyle.INTERLEAVED, true);
        Random rnd = new Random(seed);
        Arena arena = Arena.ofShared();
        Map<String, WeightMatrix> m = new LinkedHashMap<>();
        Map<String, float[]> v = new LinkedHashMap<>();
        WeightMatrix emb = matrix(arena, rnd, vocab, dim, 0.5);
        m.put("token_embd.weight", emb);
        int kv = c.kvDim();
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            v.put(p + "attn_norm.weight", norm(rnd, dim));
            m.put(p + "attn_q.weight", matrix(arena, rnd, dim, dim, 0.1));
            m.put(p + "attn_k.weight", matrix(arena, rnd, kv, dim, 0.1));
            m.put(p + "attn_v.weight", matrix(arena, rnd, kv, dim, 0.1));
            m.put(p + "attn_output.weight", matrix(arena, rnd, dim, dim, 0.1));
            v.put(p + "ffn_norm.weight", norm(rnd, dim));
            m.put(p + "ffn_gate.weight", matrix(arena, rnd, hidden, dim, 0.1));
            m.put(p + "ffn_up.weight", matrix(arena, rnd, hidden, dim, 0.1));
            m.put(p + "ffn_down.weight", matrix(arena, rnd, dim, hidden, 0.1));
        }
        v.put("output_norm.weight", norm(rnd, dim));
        m.put("output.weight", emb);
        return new ModelWeights(c, m, v, arena, "tiny random llama (seed " + seed + ")");
    }

    /**
     * A tied-embedding GPT-2 whose matrices are stored [in][out] (Layout.IN_OUT, as Hugging Face's Conv1D),
     * so quantizers must read them transposed.
     */
    static ModelWeights gpt2(int dim, int layers, int vocab, long seed) {
        int hidden = 4 * dim;
        ModelConfig c = new ModelConfig(Architecture.GPT2, dim, hidden, layers, 4, 4, vocab, 32, 1e-5f, 0f, null, true);
        Random rnd = new Random(seed);
        Arena arena = Arena.ofShared();
        Map<String, WeightMatrix> m = new LinkedHashMap<>();
        Map<String, float[]> v = new LinkedHashMap<>();
        WeightMatrix emb = matrix(arena, rnd, vocab, dim, 0.5);
        m.put("token_embd.weight", emb);
        m.put("position_embd.weight", matrix(arena, rnd, 32, dim, 0.1));
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            v.put(p + "attn_norm.weight", norm(rnd, dim));
            v.put(p + "attn_norm.bias", bias(rnd, dim));
            m.put(p + "attn_qkv.weight", transposed(arena, rnd, 3 * dim, dim, 0.1));
            v.put(p + "attn_qkv.bias", bias(rnd, 3 * dim));
            m.put(p + "attn_output.weight", transposed(arena, rnd, dim, dim, 0.1));
            v.put(p + "attn_output.bias", bias(rnd, dim));
            v.put(p + "ffn_norm.weight", norm(rnd, dim));
            v.put(p + "ffn_norm.bias", bias(rnd, dim));
            m.put(p + "ffn_up.weight", transposed(arena, rnd, hidden, dim, 0.1));
            v.put(p + "ffn_up.bias", bias(rnd, hidden));
            m.put(p + "ffn_down.weight", transposed(arena, rnd, dim, hidden, 0.05));
            v.put(p + "ffn_down.bias", bias(rnd, dim));
        }
        v.put("output_norm.weight", norm(rnd, dim));
        v.put("output_norm.bias", bias(rnd, dim));
        m.put("output.weight", emb);
        return new ModelWeights(c, m, v, arena, "tiny random gpt2 (seed " + seed + ")");
    }

    /** rows × cols (out × in) stored [in][out]. */
    private static WeightMatrix transposed(Arena arena, Random rnd, int rows, int cols, double std) {
        MemorySegment s = arena.allocate(4L * rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            s.setAtIndex(LE, i, (float) (std * rnd.nextGaussian() * (1 + (i / rows) % 5)));
        }
        return Matrices.of(QuantType.F32, s, rows, cols, Layout.IN_OUT);
    }

    private static float[] bias(Random rnd, int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            b[i] = (float) (0.02 * rnd.nextGaussian());
        }
        return b;
    }

    static WeightMatrix matrix(Arena arena, Random rnd, int rows, int cols, double std) {
        MemorySegment s = arena.allocate(4L * rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            s.setAtIndex(LE, i, (float) (std * rnd.nextGaussian()));
        }
        return Matrices.of(QuantType.F32, s, rows, cols, Layout.OUT_IN);
    }

    private static float[] norm(Random rnd, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (1 + 0.1 * rnd.nextGaussian());
        }
        return w;
    }

    /** The rows of a matrix as arrays (tests only; small matrices). */
    static float[][] rows(WeightMatrix m) {
        float[][] w = new float[m.rows()][m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, w[r], 0);
        }
        return w;
    }

    static float[][] gaussian(int rows, int cols, double std, long seed) {
        Random rnd = new Random(seed);
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (std * rnd.nextGaussian());
            }
        }
        return w;
    }
}

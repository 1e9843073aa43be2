package io.nashswarm.interop;

import io.nashswarm.format.ModelLoader;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.gguf.GgufFile;
import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;

/**
 * A LLaMA GGUF made of {@code K} side-by-side copies of a small trained model, so that its rows are
 * multiples of 256 (as llama.cpp's K-quants need) while it computes exactly what the original does:
 * the residual stream is the original's repeated K times (RMS norms see the same mean square), the
 * heads are the original's heads repeated, every matrix is block-diagonal over the copies, the feed-
 * forward width is padded with zero units, and the (untied) LM head is the embedding's rows repeated
 * and divided by K, so the logits are the original's. aidreams260K (dim 64, hidden 172) becomes dim
 * 256, hidden 768: a trained model, with a trained model's logit margins, for the K-quants.
 */
final class TiledModel {
    static final int K = 4;

    private TiledModel() {}

    static void write(Path f32Gguf, int hidden, Path target) {
        GgufFile src = GgufFile.read(f32Gguf);
        try (LoadedModel m = ModelLoader.loadWeights(f32Gguf)) {
            ModelWeights w = m.weights();
            ModelConfig c = w.config();
            int d = c.dim(), h = c.hiddenDim();
            if (K * h > hidden) {
                throw new IllegalArgumentException("a tiled hidden width of " + hidden + " cannot hold " + K + " copies of " + h);
            }
            GgufWriter out = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : src.entries().entrySet()) {
                out.put(e.getKey(), e.getValue());
            }
            out.put("llama.embedding_length", GgufValue.uint32(K * d))
                    .put("llama.feed_forward_length", GgufValue.uint32(hidden))
                    .put("llama.attention.head_count", GgufValue.uint32(K * c.nHeads()))
                    .put("llama.attention.head_count_kv", GgufValue.uint32(K * c.nKvHeads()));
            repeatRows(out, "token_embd.weight", w.matrix("token_embd.weight"), 1f);
            for (int l = 0; l < c.nLayers(); l++) {
                String p = "blk." + l + ".";
                out.addVector(p + "attn_norm.weight", repeat(w.vector(p + "attn_norm.weight")));
                out.addVector(p + "ffn_norm.weight", repeat(w.vector(p + "ffn_norm.weight")));
                for (String name : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) {
                    WeightMatrix mat = w.matrix(p + name + ".weight");
                    blockDiagonal(out, p + name + ".weight", mat, K * mat.rows(), K * mat.cols());
                }
                blockDiagonal(out, p + "ffn_gate.weight", w.matrix(p + "ffn_gate.weight"), hidden, K * d);
                blockDiagonal(out, p + "ffn_up.weight", w.matrix(p + "ffn_up.weight"), hidden, K * d);
                blockDiagonal(out, p + "ffn_down.weight", w.matrix(p + "ffn_down.weight"), K * d, hidden);
            }
            out.addVector("output_norm.weight", repeat(w.vector("output_norm.weight")));
            repeatRows(out, "output.weight", w.matrix("output.weight"), 1f / K);
            out.write(target);
        }
    }

    private static MemorySegment bytes(float[] v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return MemorySegment.ofArray(b.array());
    }

    private static float[] repeat(float[] v) {
        float[] r = new float[K * v.length];
        for (int k = 0; k < K; k++) {
            System.arraycopy(v, 0, r, k * v.length, v.length);
        }
        return r;
    }

    /** Row r becomes K copies of itself side by side, times {@code scale}. */
    private static void repeatRows(GgufWriter out, String name, WeightMatrix m, float scale) {
        float[] data = new float[m.rows() * K * m.cols()];
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, row, 0);
            for (int k = 0; k < K; k++) {
                for (int c = 0; c < m.cols(); c++) {
                    data[(r * K + k) * m.cols() + c] = row[c] * scale;
                }
            }
        }
        out.addMatrix(name, QuantType.F32, m.rows(), K * m.cols(), bytes(data));
    }

    /** K copies of {@code m} on the diagonal of a rows × cols zero matrix. */
    private static void blockDiagonal(GgufWriter out, String name, WeightMatrix m, int rows, int cols) {
        float[] data = new float[rows * cols];
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, row, 0);
            for (int k = 0; k < K; k++) {
                System.arraycopy(row, 0, data, (k * m.rows() + r) * cols + k * m.cols(), m.cols());
            }
        }
        out.addMatrix(name, QuantType.F32, rows, cols, bytes(data));
    }
}

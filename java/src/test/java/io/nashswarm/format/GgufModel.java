package io.nashswarm.format;

import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.tensor.QuantType;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A tiny GGUF model as llama.cpp's converter lays it out (names, metadata keys, ne = [cols, rows]),
 * which a test may alter before writing. Values are kept row-major by tensor name.
 */
final class GgufModel {
    final Map<String, GgufValue> meta = new LinkedHashMap<>();
    final Map<String, long[]> ne = new LinkedHashMap<>();
    final Map<String, float[]> values = new LinkedHashMap<>();
    /** Tensors stored as pre-encoded bytes of another type (quantized blocks). */
    final Map<String, Map.Entry<QuantType, byte[]>> encoded = new LinkedHashMap<>();
    private final Random rng;

    private GgufModel(long seed) {
        this.rng = new Random(seed);
    }

    void tensor(String name, long... ne) {
        long n = 1;
        for (long d : ne) {
            n *= d;
        }
        this.ne.put(name, ne);
        values.put(name, Fixtures.random(rng, (int) n));
    }

    // LLaMA: dim 16, 4 heads, 2 kv heads, ffn 24, 2 layers, vocab 13, ctx 10
    static GgufModel llama(long seed, boolean tied) {
        GgufModel m = new GgufModel(seed);
        m.meta.put("general.architecture", GgufValue.string("llama"));
        m.meta.put("general.name", GgufValue.string("tiny"));
        m.meta.put("llama.context_length", GgufValue.uint32(10));
        m.meta.put("llama.embedding_length", GgufValue.uint32(16));
        m.meta.put("llama.block_count", GgufValue.uint32(2));
        m.meta.put("llama.feed_forward_length", GgufValue.uint32(24));
        m.meta.put("llama.rope.dimension_count", GgufValue.uint32(4));
        m.meta.put("llama.attention.head_count", GgufValue.uint32(4));
        m.meta.put("llama.attention.head_count_kv", GgufValue.uint32(2));
        m.meta.put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(1e-6f));
        m.meta.put("llama.rope.freq_base", GgufValue.float32(500000f));
        m.meta.put("general.file_type", GgufValue.uint32(0));
        m.tensor("token_embd.weight", 16, 13);
        for (int l = 0; l < 2; l++) {
            String b = "blk." + l + ".";
            m.tensor(b + "attn_norm.weight", 16);
            m.tensor(b + "attn_q.weight", 16, 16);
            m.tensor(b + "attn_k.weight", 16, 8);
            m.tensor(b + "attn_v.weight", 16, 8);
            m.tensor(b + "attn_output.weight", 16, 16);
            m.tensor(b + "ffn_norm.weight", 16);
            m.tensor(b + "ffn_gate.weight", 16, 24);
            m.tensor(b + "ffn_up.weight", 16, 24);
            m.tensor(b + "ffn_down.weight", 24, 16);
        }
        m.tensor("output_norm.weight", 16);
        if (!tied) {
            m.tensor("output.weight", 16, 13);
        }
        return m;
    }

    // GPT-2: dim 8, 2 heads, ffn 32, 2 layers, vocab 11, ctx 6 (Conv1D weights already transposed by the converter)
    static GgufModel gpt2(long seed, boolean withOutput) {
        GgufModel m = new GgufModel(seed);
        m.meta.put("general.architecture", GgufValue.string("gpt2"));
        m.meta.put("gpt2.block_count", GgufValue.uint32(2));
        m.meta.put("gpt2.context_length", GgufValue.uint32(6));
        m.meta.put("gpt2.embedding_length", GgufValue.uint32(8));
        m.meta.put("gpt2.feed_forward_length", GgufValue.uint32(32));
        m.meta.put("gpt2.attention.head_count", GgufValue.uint32(2));
        m.meta.put("gpt2.attention.layer_norm_epsilon", GgufValue.float32(1e-5f));
        m.tensor("token_embd.weight", 8, 11);
        m.tensor("position_embd.weight", 8, 6);
        for (int l = 0; l < 2; l++) {
            String b = "blk." + l + ".";
            m.tensor(b + "attn_norm.weight", 8);
            m.tensor(b + "attn_norm.bias", 8);
            m.tensor(b + "attn_qkv.weight", 8, 24);
            m.tensor(b + "attn_qkv.bias", 24);
            m.tensor(b + "attn_output.weight", 8, 8);
            m.tensor(b + "attn_output.bias", 8);
            m.tensor(b + "ffn_norm.weight", 8);
            m.tensor(b + "ffn_norm.bias", 8);
            m.tensor(b + "ffn_up.weight", 8, 32);
            m.tensor(b + "ffn_up.bias", 32);
            m.tensor(b + "ffn_down.weight", 32, 8);
            m.tensor(b + "ffn_down.bias", 8);
        }
        m.tensor("output_norm.weight", 8);
        m.tensor("output_norm.bias", 8);
        if (withOutput) {
            m.tensor("output.weight", 8, 11);
        }
        return m;
    }

    /** Writes the file; 2-D tensors in {@code matrixType} (F32 or F16), vectors in F32, {@link #encoded} ones as given. */
    void write(Path file, QuantType matrixType) {
        SafetensorsDtype dtype = SafetensorsDtype.valueOf(matrixType.name());
        GgufWriter w = new GgufWriter();
        meta.forEach(w::put);
        for (var e : ne.entrySet()) {
            String name = e.getKey();
            long[] dims = e.getValue();
            if (encoded.containsKey(name)) {
                w.addTensor(name, encoded.get(name).getKey(), dims, MemorySegment.ofArray(encoded.get(name).getValue()));
                continue;
            }
            float[] v = values.get(name);
            boolean matrix = dims.length == 2;
            if (matrix) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = Fixtures.round(v[i], dtype);
                }
            }
            SafetensorsDtype d = matrix ? dtype : SafetensorsDtype.F32;
            w.addTensor(name, QuantType.valueOf(d.name()), dims, MemorySegment.ofArray(Fixtures.encode(v, d)));
        }
        w.write(file);
    }
}

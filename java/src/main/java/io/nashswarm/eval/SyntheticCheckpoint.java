package io.nashswarm.eval;

import io.nashswarm.EngineException;
import io.nashswarm.format.gguf.GgufType;
import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.quant.GgmlQuantizer;
import io.nashswarm.tensor.QuantType;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a GGUF checkpoint with a real model's shapes and random weights, for speed and memory
 * measurements at full size where the real checkpoint cannot be had. Decode speed does not depend
 * on the values; they are Gaussian with std 0.14, the typical std of real GPT-2 124M attention
 * matrices (0.06–0.24 across layers), so quantizers see realistic scales.
 */
public final class SyntheticCheckpoint {
    private SyntheticCheckpoint() {}

    /** The shapes offered by {@code bench --synthetic}. */
    public enum Shape {
        /** OpenAI GPT-2 124M. */
        GPT2_124M(new ModelConfig(Architecture.GPT2, 768, 3072, 12, 12, 12, 50257, 1024, 1e-5f, 0f, null, true)),
        /** Llama-3.2-1B (dim 2048, 16 layers, 32 heads / 8 KV heads, SwiGLU 8192, vocab 128256, tied). Context capped at 2048. */
        LLAMA_1B(new ModelConfig(Architecture.LLAMA, 2048, 8192, 16, 32, 8, 128256, 2048, 1e-5f, 500000f, RopeStyle.INTERLEAVED, true)),
        /** OpenAI GPT-2 XL (1.5B): dim 1600, 48 layers, 25 heads. */
        GPT2_XL(new ModelConfig(Architecture.GPT2, 1600, 6400, 48, 25, 25, 50257, 1024, 1e-5f, 0f, null, true)),
        /** Llama-2-7B (dim 4096, 32 layers, 32 heads, SwiGLU 11008, vocab 32000, untied). Context capped at 2048. */
        LLAMA2_7B(new ModelConfig(Architecture.LLAMA, 4096, 11008, 32, 32, 32, 32000, 2048, 1e-5f, 10000f, RopeStyle.INTERLEAVED, false)),
        /** llama2.c's stories110M (dim 768, 12 layers, 12 heads, SwiGLU 2048, vocab 32000, tied). */
        STORIES_110M(new ModelConfig(Architecture.LLAMA, 768, 2048, 12, 12, 12, 32000, 1024, 1e-5f, 10000f, RopeStyle.INTERLEAVED, true)),
        /** A small LLaMA whose rows are multiples of 256, as llama.cpp's K-quants need (tests against llama.cpp). */
        TINY_LLAMA_256(new ModelConfig(Architecture.LLAMA, 256, 512, 2, 4, 2, 512, 128, 1e-5f, 10000f, RopeStyle.INTERLEAVED, true)),
        /** A tiny LLaMA for tests of the tool itself. */
        TINY_LLAMA(new ModelConfig(Architecture.LLAMA, 64, 128, 2, 4, 2, 256, 64, 1e-5f, 10000f, RopeStyle.INTERLEAVED, true));

        public final ModelConfig config;

        Shape(ModelConfig config) {
            this.config = config;
        }

        public String label() {
            return name().toLowerCase().replace('_', '-');
        }

        public static Shape parse(String s) {
            return Arrays.stream(values()).filter(v -> v.label().equalsIgnoreCase(s)).findFirst()
                    .orElseThrow(() -> new EngineException("unknown synthetic shape '" + s + "'; choose one of "
                            + Arrays.stream(values()).map(Shape::label).toList()));
        }
    }

    static final float STD = 0.14f;

    /** Writes the checkpoint with every matrix stored as {@code type} (norm weights 1, biases 0, in F32). */
    public static void write(Shape shape, QuantType type, long seed, Path target) {
        ModelConfig c = shape.config;
        String arch = c.architecture() == Architecture.GPT2 ? "gpt2" : "llama";
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string(arch))
                .put("general.name", GgufValue.string("synthetic " + shape.label()))
                .put(arch + ".context_length", GgufValue.uint32(c.contextLength()))
                .put(arch + ".embedding_length", GgufValue.uint32(c.dim()))
                .put(arch + ".block_count", GgufValue.uint32(c.nLayers()))
                .put(arch + ".feed_forward_length", GgufValue.uint32(c.hiddenDim()))
                .put(arch + ".attention.head_count", GgufValue.uint32(c.nHeads()))
                .put(arch + ".attention.head_count_kv", GgufValue.uint32(c.nKvHeads()));
        if (c.architecture() == Architecture.GPT2) {
            w.put("gpt2.attention.layer_norm_epsilon", GgufValue.float32(c.normEps()));
        } else {
            w.put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32(c.normEps()))
                    .put("llama.rope.freq_base", GgufValue.float32(c.ropeTheta()))
                    .put("llama.vocab_size", GgufValue.uint32(c.vocabSize()));
            placeholderTokenizer(w, c.vocabSize());
        }
        SplittableRandom root = new SplittableRandom(seed);
        int d = c.dim(), h = c.hiddenDim(), kv = c.kvDim();
        matrix(w, "token_embd.weight", type, c.vocabSize(), d, root.split());
        if (c.architecture() == Architecture.GPT2) {
            matrix(w, "position_embd.weight", type, c.contextLength(), d, root.split());
        }
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "blk." + l + ".";
            w.addVector(p + "attn_norm.weight", filled(d, 1f));
            w.addVector(p + "ffn_norm.weight", filled(d, 1f));
            if (c.architecture() == Architecture.GPT2) {
                w.addVector(p + "attn_norm.bias", new float[d]);
                w.addVector(p + "ffn_norm.bias", new float[d]);
                matrix(w, p + "attn_qkv.weight", type, 3 * d, d, root.split());
                w.addVector(p + "attn_qkv.bias", new float[3 * d]);
                matrix(w, p + "attn_output.weight", type, d, d, root.split());
                w.addVector(p + "attn_output.bias", new float[d]);
                matrix(w, p + "ffn_up.weight", type, h, d, root.split());
                w.addVector(p + "ffn_up.bias", new float[h]);
                matrix(w, p + "ffn_down.weight", type, d, h, root.split());
                w.addVector(p + "ffn_down.bias", new float[d]);
            } else {
                matrix(w, p + "attn_q.weight", type, d, d, root.split());
                matrix(w, p + "attn_k.weight", type, kv, d, root.split());
                matrix(w, p + "attn_v.weight", type, kv, d, root.split());
                matrix(w, p + "attn_output.weight", type, d, d, root.split());
                matrix(w, p + "ffn_gate.weight", type, h, d, root.split());
                matrix(w, p + "ffn_up.weight", type, h, d, root.split());
                matrix(w, p + "ffn_down.weight", type, d, h, root.split());
            }
        }
        w.addVector("output_norm.weight", filled(d, 1f));
        if (c.architecture() == Architecture.GPT2) {
            w.addVector("output_norm.bias", new float[d]);
        }
        w.write(target);
    }

    /**
     * A SentencePiece-style token list (unknown, BOS, EOS, the 256 byte tokens, then "t259", "t260", ...)
     * so that llama.cpp, which refuses a model without a vocabulary, loads the checkpoint too. Text
     * means nothing here: benchmarks and tests feed token ids.
     */
    private static void placeholderTokenizer(GgufWriter w, int vocab) {
        if (vocab < 259) {
            return;
        }
        List<String> tokens = new ArrayList<>(vocab);
        List<Float> scores = new ArrayList<>(vocab);
        List<Integer> types = new ArrayList<>(vocab);
        for (int i = 0; i < vocab; i++) {
            tokens.add(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : i < 259 ? String.format("<0x%02X>", i - 3) : "t" + i);
            scores.add(i < 259 ? 0f : -i);
            types.add(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
        }
        w.put("tokenizer.ggml.model", GgufValue.string("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.strings(tokens))
                .put("tokenizer.ggml.scores", GgufValue.array(GgufType.FLOAT32, scores))
                .put("tokenizer.ggml.token_type", GgufValue.array(GgufType.INT32, types))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(1))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(2));
    }

    /**
     * A matrix generated only when the writer reaches it, so memory stays at one tensor. Rows are generated on all
     * cores (a Llama-2-7B checkpoint is 6.7·10⁹ Gaussians: minutes on one), each from its own generator split off
     * in row order, so the file depends on the seed alone, not on the number of threads.
     */
    private static void matrix(GgufWriter w, String name, QuantType type, int rows, int cols, SplittableRandom rnd) {
        w.addTensor(name, type, new long[] {cols, rows}, () -> {
            long rowBytes = type.bytesFor(cols), bytes = rowBytes * rows;
            if (bytes > Integer.MAX_VALUE - 16) {
                throw new EngineException(name + ": " + bytes + " bytes is too large for one synthetic tensor");
            }
            ByteBuffer out = ByteBuffer.allocate((int) bytes);
            SplittableRandom[] perRow = new SplittableRandom[rows];
            for (int r = 0; r < rows; r++) {
                perRow[r] = rnd.split();
            }
            IntStream.range(0, rows).parallel().forEach(r -> {
                float[] row = new float[cols];
                gaussians(perRow[r], row);
                GgmlQuantizer.quantize(type, row, 0, cols, out.slice((int) (r * rowBytes), (int) rowBytes));
            });
            return MemorySegment.ofArray(out.array());
        });
    }

    /** a[i] = STD · N(0, 1), by Box–Muller, both of each pair's values used (SplittableRandom has no nextGaussian on every JDK). */
    static void gaussians(SplittableRandom r, float[] a) {
        for (int i = 0; i < a.length; i += 2) {
            double u = 1.0 - r.nextDouble(), v = r.nextDouble();
            double radius = Math.sqrt(-2 * Math.log(u)) * STD, angle = 2 * Math.PI * v;
            a[i] = (float) (radius * Math.cos(angle));
            if (i + 1 < a.length) {
                a[i + 1] = (float) (radius * Math.sin(angle));
            }
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}

package io.nashswarm.format.gguf;

import io.nashswarm.EngineException;
import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.MappedFiles;
import io.nashswarm.format.RawTensor;
import io.nashswarm.format.WeightsAssembler;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.QuantType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Loads a GGUF file written by llama.cpp's converters (architectures {@code gpt2} and {@code llama}).
 * Tensor names are already canonical. llama.cpp permutes LLaMA q/k weights into the interleaved
 * RoPE convention when converting from Hugging Face, so GGUF LLaMA uses {@link RopeStyle#INTERLEAVED};
 * GPT-2's Conv1D weights are transposed by the converter and so are {@code [out][in]} like the rest.
 */
public final class GgufLoader {
    public static final String FORMAT = "gguf";

    private GgufLoader() {}

    public static LoadedModel load(Path path, Arena arena) {
        MemorySegment file = MappedFiles.map(path, arena);
        GgufFile gguf = GgufFile.parse(path, file);
        Map<String, RawTensor> tensors = gguf.rawTensors(file);
        ModelConfig config = withRopeFreqs(config(gguf), tensors.get(CanonicalTensors.ROPE_FREQS), path);
        WeightsAssembler.Assembled a = new WeightsAssembler(path, config, "the GGUF metadata", WeightsAssembler.ShapeOrder.GGML)
                .assemble(tensors, WeightsAssembler.Source::outIn, CanonicalTensors.ROPE_FREQS::equals, arena, path.toString());
        return new LoadedModel(a.weights(), Optional.empty(), FORMAT, List.of(path), a.entries(), gguf.metadata());
    }

    /** The config with the RoPE frequency divisors of {@code rope_freqs.weight} (Llama 3.1 scaling), when the file has it. */
    private static ModelConfig withRopeFreqs(ModelConfig c, RawTensor t, Path path) {
        if (t == null) {
            return c;
        }
        int half = c.headSize() / 2;
        if (t.type() != QuantType.F32 || t.shape().length != 1 || t.shape()[0] != half) {
            throw new FormatException(path, "tensor " + t.name() + " is " + t.typeLabel() + " " + Arrays.toString(t.shape())
                    + "; expected F32 [" + half + "] (head size / 2)");
        }
        List<Float> factors = new ArrayList<>(half);
        for (int j = 0; j < half; j++) {
            factors.add(t.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), j));
        }
        try {
            return c.withRopeFreqFactors(factors);
        } catch (EngineException e) {
            throw new FormatException(path, "tensor " + t.name() + ": " + e.getMessage());
        }
    }

    /** The model configuration the metadata describes (checked for settings the engine does not implement). */
    public static ModelConfig config(GgufFile gguf) {
        Meta m = new Meta(gguf);
        String arch = m.string("general.architecture");
        Architecture architecture = switch (arch) {
            case "gpt2" -> Architecture.GPT2;
            case "llama" -> Architecture.LLAMA;
            default -> throw new FormatException(gguf.path(), "unsupported architecture " + arch + " (supported: gpt2, llama)");
        };
        String p = arch + ".";
        int dim = m.integer(p + "embedding_length");
        int heads = m.integer(p + "attention.head_count");
        int kvHeads = m.optionalInteger(p + "attention.head_count_kv").orElse(heads);
        int headSize = heads > 0 ? dim / heads : 0;
        boolean tied = gguf.tensor(CanonicalTensors.OUTPUT).isEmpty();
        int vocab = vocabSize(gguf, m, p);
        float eps;
        float theta = 0f;
        RopeStyle rope = null;
        if (architecture == Architecture.LLAMA) {
            eps = m.real(p + "attention.layer_norm_rms_epsilon");
            theta = m.optionalReal(p + "rope.freq_base").orElse(10000f);
            rope = RopeStyle.INTERLEAVED;
            m.reject(m.optionalInteger(p + "expert_count").orElse(0) > 0, "mixture-of-experts models are not supported");
            m.optionalString(p + "rope.scaling.type").ifPresent(s ->
                    m.reject(!s.equals("none"), "rope scaling " + s + " is not supported"));
            m.optionalInteger(p + "rope.dimension_count").ifPresent(n ->
                    m.reject(n != headSize, "partial RoPE (rope.dimension_count " + n + " ≠ head size " + headSize + ") is not supported"));
        } else {
            eps = m.real(p + "attention.layer_norm_epsilon");
            m.reject(kvHeads != heads, "GPT-2 with " + kvHeads + " key/value heads for " + heads + " heads is not supported");
        }
        for (String k : List.of("attention.key_length", "attention.value_length")) {
            m.optionalInteger(p + k).ifPresent(n ->
                    m.reject(n != headSize, p + k + " " + n + " differs from embedding_length / head_count = " + headSize));
        }
        try {
            return new ModelConfig(architecture, dim, m.integer(p + "feed_forward_length"), m.integer(p + "block_count"),
                    heads, kvHeads, vocab, m.integer(p + "context_length"), eps, theta, rope, tied);
        } catch (FormatException e) {
            throw e;
        } catch (EngineException e) {
            throw new FormatException(gguf.path(), e.getMessage());
        }
    }

    /** The token list's length when there is one (it defines the vocabulary), else the embedding's rows. */
    private static int vocabSize(GgufFile gguf, Meta m, String p) {
        if (gguf.metadata().get("tokenizer.ggml.tokens") instanceof List<?> tokens) {
            return tokens.size();
        }
        Optional<Integer> declared = m.optionalInteger(p + "vocab_size");
        if (declared.isPresent()) {
            return declared.get();
        }
        GgufTensorInfo embd = gguf.tensor(CanonicalTensors.TOKEN_EMBD)
                .orElseThrow(() -> new FormatException(gguf.path(), "missing tensor " + CanonicalTensors.TOKEN_EMBD));
        if (embd.ne().length != 2 || embd.ne()[1] > Integer.MAX_VALUE) {
            throw new FormatException(gguf.path(), "tensor " + CanonicalTensors.TOKEN_EMBD + " has shape "
                    + java.util.Arrays.toString(embd.ne()) + ", not [dim, vocab]");
        }
        return (int) embd.ne()[1];
    }

    /** Typed access to metadata with messages that name the key. */
    private record Meta(GgufFile gguf) {
        Object get(String key) {
            Object v = gguf.metadata().get(key);
            if (v == null) {
                throw new FormatException(gguf.path(), "missing metadata " + key);
            }
            return v;
        }

        String string(String key) {
            if (get(key) instanceof String s) {
                return s;
            }
            throw new FormatException(gguf.path(), "metadata " + key + " is not a string");
        }

        Optional<String> optionalString(String key) {
            return gguf.metadata().containsKey(key) ? Optional.of(string(key)) : Optional.empty();
        }

        int integer(String key) {
            Object v = get(key);
            if ((v instanceof Integer || v instanceof Long) && ((Number) v).longValue() >= 0 && ((Number) v).longValue() <= Integer.MAX_VALUE) {
                return ((Number) v).intValue();
            }
            throw new FormatException(gguf.path(), "metadata " + key + " is " + v + ", not a non-negative 32-bit integer");
        }

        Optional<Integer> optionalInteger(String key) {
            return gguf.metadata().containsKey(key) ? Optional.of(integer(key)) : Optional.empty();
        }

        float real(String key) {
            if (get(key) instanceof Number n && !(n instanceof Long)) {
                return n.floatValue();
            }
            throw new FormatException(gguf.path(), "metadata " + key + " is not a number");
        }

        Optional<Float> optionalReal(String key) {
            return gguf.metadata().containsKey(key) ? Optional.of(real(key)) : Optional.empty();
        }

        void reject(boolean bad, String message) {
            if (bad) {
                throw new FormatException(gguf.path(), message);
            }
        }
    }
}

package io.nashswarm.format.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.EngineException;
import io.nashswarm.format.FormatException;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeFrequencies;
import io.nashswarm.model.RopeStyle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A Hugging Face {@code config.json} for {@code model_type} "gpt2" or "llama", turned into a
 * {@link ModelConfig}. Settings that change the computation and that the engine does not implement
 * (RoPE scaling, attention biases in LLaMA, other activations, ...) are refused here rather than
 * silently producing a different model.
 */
public final class HfConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final JsonNode root;

    private HfConfig(Path path, JsonNode root) {
        this.path = path;
        this.root = root;
    }

    public Path path() { return path; }

    public static HfConfig read(Path configJson) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(configJson));
        } catch (NoSuchFileException e) {
            throw new FormatException(configJson, "no such file");
        } catch (JsonProcessingException e) {
            throw new FormatException(configJson, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new FormatException(configJson, "cannot read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(configJson, "not a JSON object");
        }
        return new HfConfig(configJson, root);
    }

    public Architecture architecture() {
        String type = string("model_type");
        return switch (type) {
            case "gpt2" -> Architecture.GPT2;
            case "llama" -> Architecture.LLAMA;
            default -> throw new FormatException(path, "unsupported model_type " + type + " (supported: gpt2, llama)");
        };
    }

    /** GPT-2's LM head is tied unless the checkpoint has its own {@code lm_head.weight}. */
    public ModelConfig gpt2(boolean hasLmHead) {
        int dim = integer("n_embd");
        String act = optionalString("activation_function", "gelu_new");
        reject(!Set.of("gelu_new", "gelu_pytorch_tanh").contains(act), "activation_function " + act + " is not supported (only the tanh GELU, gelu_new)");
        reject(bool("scale_attn_by_inverse_layer_idx", false), "scale_attn_by_inverse_layer_idx is not supported");
        reject(bool("add_cross_attention", false), "add_cross_attention is not supported");
        int ctx = root.hasNonNull("n_positions") ? integer("n_positions") : integer("n_ctx");
        int inner = root.hasNonNull("n_inner") ? integer("n_inner") : 4 * dim;
        return build(Architecture.GPT2, dim, inner, integer("n_layer"), integer("n_head"), integer("n_head"), integer("vocab_size"),
                ctx, real("layer_norm_epsilon", null), 0f, null, !hasLmHead, null);
    }

    public ModelConfig llama() {
        int dim = integer("hidden_size");
        int heads = integer("num_attention_heads");
        int kv = root.hasNonNull("num_key_value_heads") ? integer("num_key_value_heads") : heads;
        if (root.hasNonNull("head_dim") && heads > 0 && integer("head_dim") != dim / heads) {
            throw new FormatException(path, "head_dim " + integer("head_dim") + " differs from hidden_size / num_attention_heads = "
                    + dim / heads + "; not supported");
        }
        float theta = real("rope_theta", 10000f);
        List<Float> ropeFactors = ropeScaling(theta, heads > 0 ? dim / heads : 0);
        reject(!optionalString("hidden_act", "silu").equals("silu"), "hidden_act " + optionalString("hidden_act", "silu") + " is not supported (only silu)");
        reject(bool("attention_bias", false), "attention_bias is not supported");
        reject(bool("mlp_bias", false), "mlp_bias is not supported");
        return build(Architecture.LLAMA, dim, integer("intermediate_size"), integer("num_hidden_layers"), heads, kv, integer("vocab_size"),
                integer("max_position_embeddings"), real("rms_norm_eps", null), theta, RopeStyle.ROTATE_HALF,
                bool("tie_word_embeddings", false), ropeFactors);
    }

    /**
     * {@code rope_scaling}: null, or Llama 3.1's {@code rope_type "llama3"} (Llama 3.1/3.2/3.3 checkpoints), as
     * per-pair frequency divisors; the other types (linear, dynamic, yarn, longrope) are refused.
     */
    private List<Float> ropeScaling(float theta, int headSize) {
        JsonNode rs = root.get("rope_scaling");
        if (rs == null || rs.isNull()) {
            return null;
        }
        JsonNode type = rs.hasNonNull("rope_type") ? rs.get("rope_type") : rs.get("type");
        String name = type == null ? "(no rope_type)" : type.asText();
        reject(!rs.isObject() || !name.equals("llama3"), "rope_scaling " + rs + " is not supported (only rope_type llama3)");
        double factor = positive(rs, "factor"), low = positive(rs, "low_freq_factor"), high = positive(rs, "high_freq_factor");
        double original = positive(rs, "original_max_position_embeddings");
        reject(high <= low, "rope_scaling: high_freq_factor " + high + " must exceed low_freq_factor " + low);
        reject(headSize <= 0 || headSize % 2 != 0, "rope_scaling needs an even head size, got " + headSize);
        return RopeFrequencies.llama3(theta, headSize, factor, low, high, (int) original);
    }

    private double positive(JsonNode obj, String key) {
        JsonNode v = obj.get(key);
        if (v == null || !v.isNumber() || !(v.asDouble() > 0) || !Double.isFinite(v.asDouble())) {
            throw new FormatException(path, "rope_scaling." + key + " is " + (v == null ? "missing" : v) + "; expected a positive number");
        }
        return v.asDouble();
    }

    private ModelConfig build(Architecture a, int dim, int hidden, int layers, int heads, int kv, int vocab, int ctx,
                              float eps, float theta, RopeStyle rope, boolean tied, List<Float> ropeFactors) {
        try {
            return new ModelConfig(a, dim, hidden, layers, heads, kv, vocab, ctx, eps, theta, rope, tied, ropeFactors);
        } catch (EngineException e) {
            throw new FormatException(path, e.getMessage());
        }
    }

    private void reject(boolean bad, String message) {
        if (bad) {
            throw new FormatException(path, message);
        }
    }

    private JsonNode field(String name) {
        JsonNode n = root.get(name);
        if (n == null || n.isNull()) {
            throw new FormatException(path, "missing field " + name);
        }
        return n;
    }

    private String string(String name) {
        JsonNode n = field(name);
        if (!n.isTextual()) {
            throw new FormatException(path, "field " + name + " must be a string, got " + n);
        }
        return n.asText();
    }

    private String optionalString(String name, String fallback) {
        return root.hasNonNull(name) ? string(name) : fallback;
    }

    private int integer(String name) {
        JsonNode n = field(name);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new FormatException(path, "field " + name + " must be an integer, got " + n);
        }
        return n.asInt();
    }

    private float real(String name, Float fallback) {
        if (fallback != null && !root.hasNonNull(name)) {
            return fallback;
        }
        JsonNode n = field(name);
        if (!n.isNumber()) {
            throw new FormatException(path, "field " + name + " must be a number, got " + n);
        }
        return (float) n.asDouble();
    }

    private boolean bool(String name, boolean fallback) {
        if (!root.hasNonNull(name)) {
            return fallback;
        }
        JsonNode n = root.get(name);
        if (!n.isBoolean()) {
            throw new FormatException(path, "field " + name + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }
}

package io.nashswarm.format.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.MappedFiles;
import io.nashswarm.format.RawTensor;
import io.nashswarm.format.WeightsAssembler;
import io.nashswarm.format.WeightsAssembler.Source;
import io.nashswarm.format.safetensors.SafetensorsFile;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Loads a Hugging Face checkpoint: {@code config.json} plus {@code model.safetensors} or the shards
 * a {@code model.safetensors.index.json} lists. GPT-2 tensors may carry the {@code transformer.}
 * prefix ({@code GPT2LMHeadModel}) or not ({@code GPT2Model}); their Conv1D weights are stored
 * {@code [in][out]} and are wrapped as {@link io.nashswarm.tensor.Layout#IN_OUT}, not transposed.
 */
public final class HfLoader {
    public static final String FORMAT = "huggingface";
    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfLoader() {}

    /** @param dirOrFile a checkpoint directory, or one safetensors file with its config.json beside it */
    public static LoadedModel load(Path dirOrFile, Arena arena) {
        boolean isFile = Files.isRegularFile(dirOrFile);
        Path dir = isFile ? dirOrFile.toAbsolutePath().getParent() : dirOrFile;
        Path configPath = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configPath)) {
            throw new FormatException(dirOrFile, "no config.json beside it (a Hugging Face checkpoint needs its config.json)");
        }
        HfConfig hf = HfConfig.read(configPath);
        Architecture arch = hf.architecture();

        List<Path> files = new ArrayList<>(List.of(configPath));
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        Map<String, Object> metadata = new LinkedHashMap<>();
        Path identity;
        Path index = dir.resolve(INDEX);
        if (!isFile && Files.isRegularFile(index)) {
            identity = index;
            files.add(index);
            readSharded(index, dir, arena, tensors, metadata, files);
        } else {
            Path single = isFile ? dirOrFile : singleFile(dir);
            identity = single;
            files.add(single);
            SafetensorsFile st = read(single, arena, tensors);
            metadata.putAll(st.metadata());
        }

        ModelConfig config;
        Function<String, Source> naming;
        Predicate<String> ignored;
        if (arch == Architecture.GPT2) {
            String prefix = tensors.keySet().stream().anyMatch(n -> n.startsWith("transformer.")) ? "transformer." : "";
            config = hf.gpt2(tensors.containsKey("lm_head.weight"));
            naming = canonical -> gpt2Source(prefix, canonical);
            // the causal-mask buffers that older transformers versions saved with the weights
            ignored = n -> n.endsWith(".attn.bias") || n.endsWith(".attn.masked_bias");
        } else {
            config = hf.llama();
            naming = HfLoader::llamaSource;
            boolean tied = config.tiedEmbeddings();
            // A tied checkpoint may still carry a copy of the head; transformers ties it to the embedding anyway.
            ignored = n -> n.endsWith(".rotary_emb.inv_freq") || (tied && n.equals("lm_head.weight"));
        }
        WeightsAssembler.Assembled a = new WeightsAssembler(identity, config, CONFIG, WeightsAssembler.ShapeOrder.ROW_MAJOR)
                .assemble(tensors, naming, ignored, arena, dirOrFile.toString());
        return new LoadedModel(a.weights(), Optional.empty(), FORMAT, files, a.entries(), metadata);
    }

    /** The one safetensors file of an unsharded checkpoint directory. */
    static Path singleFile(Path dir) {
        Path single = dir.resolve(SINGLE);
        if (Files.isRegularFile(single)) {
            return single;
        }
        List<Path> candidates;
        try (Stream<Path> s = Files.list(dir)) {
            candidates = s.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new FormatException(dir, "cannot list directory: " + e.getMessage(), e);
        }
        if (candidates.size() == 1) {
            return candidates.getFirst();
        }
        if (candidates.size() > 1) {
            throw new FormatException(dir, candidates.size() + " .safetensors files but no " + INDEX + " saying how they fit together");
        }
        if (Files.exists(dir.resolve("pytorch_model.bin")) || Files.exists(dir.resolve("pytorch_model.bin.index.json"))) {
            throw new FormatException(dir, "PyTorch .bin checkpoints are not supported; convert the model to safetensors");
        }
        throw new FormatException(dir, "no " + SINGLE + " or " + INDEX + " found");
    }

    private static SafetensorsFile read(Path file, Arena arena, Map<String, RawTensor> into) {
        MemorySegment data = MappedFiles.map(file, arena);
        SafetensorsFile st = SafetensorsFile.parse(file, data);
        into.putAll(st.rawTensors(data));
        return st;
    }

    private static void readSharded(Path index, Path dir, Arena arena, Map<String, RawTensor> tensors,
                                    Map<String, Object> metadata, List<Path> files) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(index));
        } catch (JsonProcessingException e) {
            throw new FormatException(index, "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new FormatException(index, "cannot read: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new FormatException(index, "no weight_map object");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw new FormatException(index, "weight_map entry " + e.getKey() + " is not a file name");
            }
            weightMap.put(e.getKey(), e.getValue().asText());
        }
        for (String shard : new LinkedHashSet<>(weightMap.values())) {
            Path p = dir.resolve(shard).normalize();
            if (shard.isEmpty() || !dir.toAbsolutePath().normalize().equals(p.toAbsolutePath().getParent())) {
                throw new FormatException(index, "shard name " + shard + " is not a file in the checkpoint directory");
            }
            if (!Files.isRegularFile(p)) {
                throw new FormatException(index, "shard " + shard + " listed in weight_map is missing");
            }
            files.add(p);
            Map<String, RawTensor> shardTensors = new LinkedHashMap<>();
            SafetensorsFile st = read(p, arena, shardTensors);
            metadata.putAll(st.metadata());
            weightMap.forEach((name, file) -> {
                if (file.equals(shard)) {
                    RawTensor t = shardTensors.get(name);
                    if (t == null) {
                        throw new FormatException(p, "tensor " + name + " is listed for this shard in " + INDEX + " but is not in it");
                    }
                    tensors.put(name, t);
                }
            });
        }
    }

    private static Source gpt2Source(String prefix, String canonical) {
        return switch (canonical) {
            case "token_embd.weight" -> Source.outIn(prefix + "wte.weight");
            case "position_embd.weight" -> Source.outIn(prefix + "wpe.weight");
            case "output_norm.weight" -> Source.outIn(prefix + "ln_f.weight");
            case "output_norm.bias" -> Source.outIn(prefix + "ln_f.bias");
            case "output.weight" -> Source.outIn("lm_head.weight");
            default -> {
                Layer l = Layer.of(canonical);
                String h = prefix + "h." + l.index + ".";
                yield switch (l.rest) {
                    case "attn_norm.weight" -> Source.outIn(h + "ln_1.weight");
                    case "attn_norm.bias" -> Source.outIn(h + "ln_1.bias");
                    case "attn_qkv.weight" -> Source.inOut(h + "attn.c_attn.weight");
                    case "attn_qkv.bias" -> Source.outIn(h + "attn.c_attn.bias");
                    case "attn_output.weight" -> Source.inOut(h + "attn.c_proj.weight");
                    case "attn_output.bias" -> Source.outIn(h + "attn.c_proj.bias");
                    case "ffn_norm.weight" -> Source.outIn(h + "ln_2.weight");
                    case "ffn_norm.bias" -> Source.outIn(h + "ln_2.bias");
                    case "ffn_up.weight" -> Source.inOut(h + "mlp.c_fc.weight");
                    case "ffn_up.bias" -> Source.outIn(h + "mlp.c_fc.bias");
                    case "ffn_down.weight" -> Source.inOut(h + "mlp.c_proj.weight");
                    case "ffn_down.bias" -> Source.outIn(h + "mlp.c_proj.bias");
                    default -> throw new IllegalArgumentException("no GPT-2 tensor for " + canonical);
                };
            }
        };
    }

    private static Source llamaSource(String canonical) {
        return Source.outIn(switch (canonical) {
            case "token_embd.weight" -> "model.embed_tokens.weight";
            case "output_norm.weight" -> "model.norm.weight";
            case "output.weight" -> "lm_head.weight";
            default -> {
                Layer l = Layer.of(canonical);
                String m = "model.layers." + l.index + ".";
                yield m + switch (l.rest) {
                    case "attn_norm.weight" -> "input_layernorm.weight";
                    case "attn_q.weight" -> "self_attn.q_proj.weight";
                    case "attn_k.weight" -> "self_attn.k_proj.weight";
                    case "attn_v.weight" -> "self_attn.v_proj.weight";
                    case "attn_output.weight" -> "self_attn.o_proj.weight";
                    case "ffn_norm.weight" -> "post_attention_layernorm.weight";
                    case "ffn_gate.weight" -> "mlp.gate_proj.weight";
                    case "ffn_up.weight" -> "mlp.up_proj.weight";
                    case "ffn_down.weight" -> "mlp.down_proj.weight";
                    default -> throw new IllegalArgumentException("no LLaMA tensor for " + canonical);
                };
            }
        });
    }

    /** "blk.N.rest" split into N and rest. */
    private record Layer(String index, String rest) {
        static Layer of(String canonical) {
            int dot = canonical.indexOf('.', 4);
            return new Layer(canonical.substring(4, dot), canonical.substring(dot + 1));
        }
    }
}

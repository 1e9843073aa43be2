package io.nashswarm.format.llama2c;

import io.nashswarm.EngineException;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.MappedFiles;
import io.nashswarm.format.RawTensor;
import io.nashswarm.format.WeightsAssembler;
import io.nashswarm.format.WeightsAssembler.Source;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.tensor.QuantType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Loads a llama2.c checkpoint ({@code run.c}): the header, then float32 tensors in this order, each
 * stacked over layers: token_embedding_table, rms_att_weight, wq, wk, wv, wo, rms_ffn_weight, w1,
 * w2, w3, rms_final_weight, freq_cis_real, freq_cis_imag (skipped: the engine computes RoPE), and
 * wcls when the header's vocab_size is negative. Matrices are {@code [out][in]}; RoPE pairs are
 * interleaved; RMSNorm epsilon is 1e-5 and RoPE theta 10000 as {@code run.c} hard-codes them.
 */
public final class Llama2cLoader {
    public static final String FORMAT = "llama2.c";
    public static final float NORM_EPS = 1e-5f;
    public static final float ROPE_THETA = 10000f;

    private Llama2cLoader() {}

    /** The header if the file starts with plausible numbers and is large enough to hold one, else empty. */
    public static Optional<Llama2cHeader> plausibleHeader(byte[] head) {
        if (head.length < Llama2cHeader.BYTES) {
            return Optional.empty();
        }
        Llama2cHeader h = Llama2cHeader.read(head);
        return h.implausibility().isEmpty() ? Optional.of(h) : Optional.empty();
    }

    public static LoadedModel load(Path path, Arena arena) {
        long size = MappedFiles.size(path);
        byte[] head = MappedFiles.head(path, Llama2cHeader.BYTES);
        if (head.length < Llama2cHeader.BYTES) {
            throw new FormatException(path, "truncated: a llama2.c header needs " + Llama2cHeader.BYTES + " bytes but the file has " + size);
        }
        Llama2cHeader h = Llama2cHeader.read(head);
        h.implausibility().ifPresent(why -> {
            throw new FormatException(path, "not a plausible llama2.c header (" + why + ")");
        });
        checkSize(path, h, size);
        ModelConfig config;
        try {
            config = new ModelConfig(Architecture.LLAMA, h.dim(), h.hiddenDim(), h.nLayers(), h.nHeads(), h.nKvHeads(),
                    h.vocabSize(), h.seqLen(), NORM_EPS, ROPE_THETA, RopeStyle.INTERLEAVED, h.sharedClassifier());
        } catch (EngineException e) {
            throw new FormatException(path, e.getMessage());
        }
        MemorySegment file = MappedFiles.map(path, arena);
        Map<String, RawTensor> tensors = tensors(path, h, file);
        WeightsAssembler.Assembled a = new WeightsAssembler(path, config, "the llama2.c header", WeightsAssembler.ShapeOrder.ROW_MAJOR)
                .assemble(tensors, Llama2cLoader::source, name -> false, arena, path.toString());
        return new LoadedModel(a.weights(), Optional.empty(), FORMAT, List.of(path), a.entries(), Map.of());
    }

    private static void checkSize(Path path, Llama2cHeader h, long size) {
        long want = h.fileBytes(h.sharedClassifier());
        if (size == want) {
            return;
        }
        String hint;
        if (size == h.fileBytes(!h.sharedClassifier())) {
            hint = h.sharedClassifier()
                    ? " (that size fits a separate classifier, but a positive vocab_size means a shared one)"
                    : " (that size fits a shared classifier, but a negative vocab_size means a separate one)";
        } else {
            hint = size < want ? " (truncated?)" : " (extra bytes at the end)";
        }
        throw new FormatException(path, "llama2.c header (" + h + ") implies " + want + " bytes but the file has " + size + hint);
    }

    /** Names in the file follow run.c's TransformerWeights fields, with the layer in brackets. */
    private static Source source(String canonical) {
        if (!canonical.startsWith("blk.")) {
            return Source.outIn(switch (canonical) {
                case "token_embd.weight" -> "token_embedding_table";
                case "output_norm.weight" -> "rms_final_weight";
                case "output.weight" -> "wcls";
                default -> canonical;
            });
        }
        int dot = canonical.indexOf('.', 4);
        String layer = canonical.substring(4, dot);
        String field = switch (canonical.substring(dot + 1)) {
            case "attn_norm.weight" -> "rms_att_weight";
            case "attn_q.weight" -> "wq";
            case "attn_k.weight" -> "wk";
            case "attn_v.weight" -> "wv";
            case "attn_output.weight" -> "wo";
            case "ffn_norm.weight" -> "rms_ffn_weight";
            case "ffn_gate.weight" -> "w1";
            case "ffn_down.weight" -> "w2";
            case "ffn_up.weight" -> "w3";
            default -> canonical;
        };
        return Source.outIn(field + "[" + layer + "]");
    }

    private static Map<String, RawTensor> tensors(Path path, Llama2cHeader h, MemorySegment file) {
        Map<String, RawTensor> out = new LinkedHashMap<>();
        Cursor c = new Cursor(path, file, out);
        int d = h.dim(), kv = h.kvDim(), hid = h.hiddenDim(), layers = h.nLayers();
        c.add("token_embedding_table", h.vocabSize(), d);
        c.stacked("rms_att_weight", layers, d);
        c.stacked("wq", layers, d, d);
        c.stacked("wk", layers, kv, d);
        c.stacked("wv", layers, kv, d);
        c.stacked("wo", layers, d, d);
        c.stacked("rms_ffn_weight", layers, d);
        c.stacked("w1", layers, hid, d);
        c.stacked("w2", layers, d, hid);
        c.stacked("w3", layers, hid, d);
        c.add("rms_final_weight", d);
        c.skip(2L * h.seqLen() * h.headSize() / 2);
        if (!h.sharedClassifier()) {
            c.add("wcls", h.vocabSize(), d);
        }
        return out;
    }

    /** Walks the float32 tensors in file order. */
    private static final class Cursor {
        private final Path path;
        private final MemorySegment file;
        private final Map<String, RawTensor> out;
        private long offset = Llama2cHeader.BYTES;

        Cursor(Path path, MemorySegment file, Map<String, RawTensor> out) {
            this.path = path;
            this.file = file;
            this.out = out;
        }

        void add(String name, long... shape) {
            long floats = 1;
            for (long s : shape) {
                floats *= s;
            }
            out.put(name, new RawTensor(name, "float32", QuantType.F32, shape, file.asSlice(offset, 4 * floats), path));
            offset += 4 * floats;
        }

        void stacked(String name, int layers, long... shape) {
            for (int l = 0; l < layers; l++) {
                add(name + "[" + l + "]", shape);
            }
        }

        void skip(long floats) {
            offset += 4 * floats;
        }
    }
}

package io.nashswarm.format.gguf;

import io.nashswarm.EngineException;
import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.MatrixStorage;
import io.nashswarm.format.TensorSpec;
import io.nashswarm.kernel.Parallel;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.quant.GgmlQuantizer;
import io.nashswarm.tensor.Codec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.PackedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.tokenizer.GgufTokenizerMetadata;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Writes a model as a GGUF v3 file that llama.cpp (and {@link GgufLoader}) reads: llama.cpp's tensor
 * names (already the engine's canonical names) and metadata keys for the {@code llama} and {@code gpt2}
 * architectures, the tokenizer as {@code tokenizer.ggml.*}, atomically through {@link GgufWriter}.
 *
 * <ul>
 *   <li>Matrices are written as stored when GGUF has their type (F32, F16, BF16, Q8_0, Q4_0), or converted
 *       from a float type to {@link Options#type()} with ggml's reference rounding ({@link GgmlQuantizer}).
 *       A matrix in a type GGUF lacks (the engine's int8/int4/int2/nf4/mixed) is refused: re-quantizing
 *       it would round twice, so the message asks for an export of the float model instead.</li>
 *   <li>With {@code q4_0}, the LM head ({@code output.weight}, or {@code token_embd.weight} when tied)
 *       becomes Q8_0: llama.cpp's Q4_0 files keep it at Q6_K, which the engine does not have.
 *       {@link Options#outputType()} overrides this.</li>
 *   <li>Rows whose length is not a multiple of 32 fit no Q8_0/Q4_0 block; such matrices keep their float
 *       type (reported in {@link Summary#notes()}).</li>
 *   <li>RoPE: llama.cpp rotates LLaMA q/k in the interleaved convention. A model loaded from Hugging Face
 *       ({@link RopeStyle#ROTATE_HALF}) gets its q and k rows permuted per head, as llama.cpp's converter
 *       does (row {@code 2j + a} of a head comes from row {@code a·headSize/2 + j}); a permutation of rows
 *       works for every row-wise type, Q8_0/Q4_0 blocks included.</li>
 *   <li>Float matrices a loader kept {@code [in][out]} (GPT-2 Conv1D) are transposed to GGUF's {@code [out][in]}.</li>
 * </ul>
 */
public final class GgufExporter {
    /** The table's types GGUF can hold and we can encode row by row (floats and GGML blocks). */
    private static final Set<QuantType> GGUF_TYPES = Arrays.stream(QuantType.values())
            .filter(t -> t.ggmlId() >= 0 && t.codec() instanceof Codec.Rows).collect(Collectors.toUnmodifiableSet());
    /** The labels {@code export --type} accepts, for help and error messages. */
    public static final String EXPORT_TYPES = GGUF_TYPES.stream().filter(QuantType::encodable).sorted()
            .map(QuantType::label).collect(Collectors.joining(", "));
    /** Those with one value per weight (converting between them rounds once). */
    private static final Set<QuantType> FLOATS = GGUF_TYPES.stream().filter(t -> t.blockSize() == 1).collect(Collectors.toUnmodifiableSet());

    private GgufExporter() {}

    /**
     * @param type       convert float matrices to this type (F32, F16, BF16, Q8_0, Q4_0); null keeps every matrix's type
     * @param outputType type of the LM head; null: Q8_0 when {@code type} is Q4_0, else as the other matrices
     * @param name       {@code general.name}; null: the model's source
     */
    public record Options(QuantType type, QuantType outputType, String name) {
        public Options {
            for (QuantType t : new QuantType[] {type, outputType}) {
                if (t != null && (!GGUF_TYPES.contains(t) || !t.encodable())) {
                    throw new EngineException("cannot export to " + t.label() + ": choose one of " + EXPORT_TYPES);
                }
            }
        }

        public static Options keepTypes() {
            return new Options(null, null, null);
        }
    }

    /**
     * What was written.
     *
     * @param types  tensors per GGUF type label
     * @param notes  decisions worth telling the user (head kept at Q8_0, rows that fit no block, ...)
     */
    public record Summary(Path file, int tensors, Map<String, Integer> types, long tensorBytes, long fileBytes,
                          String tokenizer, List<String> notes) {}

    /**
     * A checked export, ready to write: every tensor's type is chosen and the tokenizer converted, so a
     * model that cannot be exported fails here, before any output or progress bar.
     */
    public static final class Plan {
        private final GgufWriter writer = new GgufWriter();
        private final List<String> notes = new ArrayList<>();
        private final Map<String, Integer> types = new TreeMap<>();
        private long tensorBytes;
        private int tensors;
        private String tokenizer = "none";
        private Progress progress = Progress.none();

        private Plan() {}

        /** Tensors the file will hold ({@link #write}'s progress advances by one per tensor). */
        public int tensorCount() {
            return tensors;
        }

        public Summary write(Path target, Progress progress) {
            this.progress = progress;
            writer.write(target);
            long fileBytes;
            try {
                fileBytes = Files.size(target);
            } catch (IOException e) {
                throw new EngineException("cannot read the size of " + target + ": " + e.getMessage(), e);
            }
            return new Summary(target, tensors, types, tensorBytes, fileBytes, tokenizer, List.copyOf(notes));
        }
    }

    /** Plans and writes in one go. */
    public static Summary export(ModelWeights w, Tokenizer tokenizer, Path target, Options options, Progress progress) {
        return plan(w, tokenizer, options).write(target, progress);
    }

    /**
     * @param tokenizer written as GGUF tokenizer metadata (padded to the model's vocabulary); may be null
     * @throws EngineException naming the tensor when a matrix cannot be exported, or the tokenizer setting GGUF lacks
     */
    public static Plan plan(ModelWeights w, Tokenizer tokenizer, Options options) {
        ModelConfig c = CanonicalTensors.storedConfig(w);
        Plan plan = new Plan();
        Map<String, QuantType> chosen = new LinkedHashMap<>();
        for (TensorSpec spec : CanonicalTensors.of(c)) {
            String name = spec.name();
            plan.tensors++;
            if (!spec.matrix()) {
                plan.writer.addTensor(name, QuantType.F32, new long[] {spec.rows()}, () -> {
                    plan.progress.message(name);
                    plan.progress.step(1);
                    return MemorySegment.ofArray(GgufWriter.littleEndian(w.vector(name)));
                });
                plan.types.merge(QuantType.F32.label(), 1, Integer::sum);
                plan.tensorBytes += 4L * spec.rows();
                continue;
            }
            WeightMatrix m = w.matrix(name);
            QuantType t = targetType(name, m, c, options, plan.notes);
            chosen.put(name, t);
            int[] order = ropeOrder(name, m, c);
            plan.writer.addTensor(name, t, new long[] {m.cols(), m.rows()}, () -> {
                plan.progress.message(name);
                MemorySegment data = tensorData(name, m, t, order);
                plan.progress.step(1);
                return data;
            });
            plan.types.merge(t.label(), 1, Integer::sum);
            plan.tensorBytes += t.bytesFor((long) m.rows() * m.cols());
        }
        if (c.ropeFreqFactors() != null) { // as llama.cpp's converter writes Llama 3.1 scaling
            float[] f = new float[c.ropeFreqFactors().size()];
            for (int j = 0; j < f.length; j++) {
                f[j] = c.ropeFreqFactors().get(j);
            }
            plan.writer.addVector(CanonicalTensors.ROPE_FREQS, f);
            plan.tensors++;
            plan.types.merge(QuantType.F32.label(), 1, Integer::sum);
            plan.tensorBytes += 4L * f.length;
        }
        metadata(plan.writer, w, c, options, chosen);
        if (tokenizer != null) {
            Map<String, Object> meta = GgufTokenizerMetadata.padded(GgufTokenizerMetadata.of(tokenizer), c.vocabSize());
            meta.forEach((k, v) -> plan.writer.put(k, value(k, v)));
            plan.tokenizer = meta.get(GgufTokenizerMetadata.MODEL) + ", " + tokenizer.vocabSize() + " tokens"
                    + (tokenizer.vocabSize() < c.vocabSize() ? " (padded to " + c.vocabSize() + ")" : "");
        }
        return plan;
    }

    private static QuantType targetType(String name, WeightMatrix m, ModelConfig c, Options o, List<String> notes) {
        QuantType from = m.type();
        if (!GGUF_TYPES.contains(from)) {
            String spec = m instanceof PackedMatrix p ? " " + p.spec() : "";
            throw new EngineException("tensor " + name + " is " + from.label() + spec + ", which GGUF has no type for; export the"
                    + " unquantized model with --type q4_0 or --type q8_0 instead (re-quantizing " + from.label()
                    + " weights would round them twice)");
        }
        boolean head = name.equals(CanonicalTensors.OUTPUT) || (c.tiedEmbeddings() && name.equals(CanonicalTensors.TOKEN_EMBD));
        QuantType want = o.type();
        if (head && o.outputType() != null) {
            want = o.outputType();
        } else if (head && want == QuantType.Q4_0) {
            want = QuantType.Q8_0;
            notes.add(name + " (the LM head) written as q8_0: llama.cpp's q4_0 files keep it at q6_k, which the engine lacks"
                    + " (--output-type overrides)");
        }
        if (want == null || want == from) {
            return from;
        }
        if (!FLOATS.contains(from)) {
            throw new EngineException("tensor " + name + " is already " + from.label() + "; converting it to " + want.label()
                    + " would round it twice (export the float model instead, or keep the types)");
        }
        if (m.cols() % want.blockSize() != 0) {
            notes.add(name + " kept as " + from.label() + ": its rows of " + m.cols() + " weights fit no " + want.label()
                    + " block of " + want.blockSize());
            return from;
        }
        return want;
    }

    /** The q/k row order llama.cpp's interleaved RoPE needs, for a Hugging Face (rotate-half) LLaMA; else null. */
    private static int[] ropeOrder(String name, WeightMatrix m, ModelConfig c) {
        if (c.architecture() != Architecture.LLAMA || c.ropeStyle() != RopeStyle.ROTATE_HALF) {
            return null;
        }
        if (name.endsWith(".attn_q.weight")) {
            return interleavedRopeOrder(m.rows(), c.nHeads());
        }
        if (name.endsWith(".attn_k.weight")) {
            return interleavedRopeOrder(m.rows(), c.nKvHeads());
        }
        return null;
    }

    /** {@code order[dst] = src}: within each head, row {@code 2j + a} comes from row {@code a·half + j}. */
    static int[] interleavedRopeOrder(int rows, int heads) {
        int hs = rows / heads, half = hs / 2;
        int[] order = new int[rows];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int a = 0; a < 2; a++) {
                    order[h * hs + 2 * j + a] = h * hs + a * half + j;
                }
            }
        }
        return order;
    }

    /** The matrix's bytes in type {@code t}, rows in {@code order} (null: as they are), {@code [out][in]}. */
    private static MemorySegment tensorData(String name, WeightMatrix m, QuantType t, int[] order) {
        MatrixStorage stored = MatrixStorage.of(name, m);
        int rows = m.rows(), cols = m.cols();
        long rowBytes = t.bytesFor(cols);
        if (stored.type() == t && stored.layout() == Layout.OUT_IN) {
            if (order == null) {
                return stored.data(); // as stored: no copy
            }
            MemorySegment out = Arena.ofAuto().allocate(rowBytes * rows, 64);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(stored.data(), order[r] * rowBytes, out, r * rowBytes, rowBytes);
            }
            return out;
        }
        // A float source converted (or transposed): one row at a time, with ggml's rounding.
        MemorySegment out = Arena.ofAuto().allocate(rowBytes * rows, 64);
        Parallel.forRange(rows, 1, (start, end) -> {
            float[] row = new float[cols];
            for (int r = start; r < end; r++) {
                m.dequantizeRow(order == null ? r : order[r], row, 0);
                t.encodeRow(row, 0, row.length, out.asSlice(r * rowBytes, rowBytes).asByteBuffer());
            }
        });
        return out;
    }

    private static void metadata(GgufWriter out, ModelWeights w, ModelConfig c, Options o, Map<String, QuantType> chosen) {
        String arch = c.architecture() == Architecture.LLAMA ? "llama" : "gpt2";
        String p = arch + ".";
        out.put("general.architecture", GgufValue.string(arch));
        out.put("general.name", GgufValue.string(o.name() != null ? o.name() : w.source()));
        QuantType main = o.type() != null ? o.type() : mostWeights(w, chosen);
        out.put("general.file_type", GgufValue.uint32(fileType(main)));
        if (chosen.values().stream().anyMatch(t -> t.blockSize() > 1)) { // GGML block quantization present
            out.put("general.quantization_version", GgufValue.uint32(2));
        }
        out.put(p + "context_length", GgufValue.uint32(c.contextLength()));
        out.put(p + "embedding_length", GgufValue.uint32(c.dim()));
        out.put(p + "block_count", GgufValue.uint32(c.nLayers()));
        out.put(p + "feed_forward_length", GgufValue.uint32(c.hiddenDim()));
        out.put(p + "attention.head_count", GgufValue.uint32(c.nHeads()));
        if (c.architecture() == Architecture.LLAMA) {
            out.put(p + "attention.head_count_kv", GgufValue.uint32(c.nKvHeads()));
            out.put(p + "rope.dimension_count", GgufValue.uint32(c.headSize()));
            out.put(p + "rope.freq_base", GgufValue.float32(c.ropeTheta()));
            out.put(p + "attention.layer_norm_rms_epsilon", GgufValue.float32(c.normEps()));
            out.put(p + "vocab_size", GgufValue.uint32(c.vocabSize()));
        } else {
            out.put(p + "attention.layer_norm_epsilon", GgufValue.float32(c.normEps()));
        }
    }

    /** The type holding the most weights (for general.file_type when types are kept). */
    private static QuantType mostWeights(ModelWeights w, Map<String, QuantType> chosen) {
        Map<QuantType, Long> weights = new TreeMap<>();
        chosen.forEach((name, t) -> weights.merge(t, (long) w.matrix(name).rows() * w.matrix(name).cols(), Long::sum));
        return weights.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(QuantType.F32);
    }

    /** llama.cpp's llama_ftype of a file mostly of type {@code t} (the table's {@link QuantType#llamaFtype()}). */
    private static int fileType(QuantType t) {
        if (t.llamaFtype() < 0) {
            throw new IllegalStateException(t.label() + " has no llama.cpp file type");
        }
        return t.llamaFtype();
    }

    /** Tokenizer metadata in llama.cpp's value types (token ids uint32, token types int32, scores float32). */
    private static GgufValue value(String key, Object v) {
        return switch (v) {
            case String s -> GgufValue.string(s);
            case Boolean b -> GgufValue.bool(b);
            case Integer i -> GgufValue.uint32(i);
            case List<?> list when key.equals(GgufTokenizerMetadata.SCORES) -> GgufValue.array(GgufType.FLOAT32, list);
            case List<?> list when key.equals(GgufTokenizerMetadata.TOKEN_TYPE) -> GgufValue.array(GgufType.INT32, list);
            case List<?> list -> GgufValue.array(GgufType.STRING, list);
            default -> throw new IllegalArgumentException("tokenizer metadata " + key + " has an unexpected value " + v);
        };
    }
}

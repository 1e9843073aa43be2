package io.nashswarm.format;

import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Matches a file's tensors to the {@link CanonicalTensors} of a configuration and wraps them,
 * without copying, as {@link ModelWeights}. Each format only says where a canonical tensor lies in
 * its file; the checks (missing, unexpected, misshapen, unsupported type) live here once.
 */
public final class WeightsAssembler {
    /** Where a canonical tensor is found: its name in the file and how a matrix is laid out there. */
    public record Source(String name, Layout layout) {
        public static Source outIn(String name) { return new Source(name, Layout.OUT_IN); }
        public static Source inOut(String name) { return new Source(name, Layout.IN_OUT); }
    }

    /** How the file writes a shape: row-major like PyTorch/safetensors, or innermost-first like ggml's {@code ne}. */
    public enum ShapeOrder { ROW_MAJOR, GGML }

    public record Assembled(ModelWeights weights, List<TensorEntry> entries) {}

    private final Path file;
    private final ModelConfig config;
    private final String configSource;
    private final ShapeOrder order;

    /**
     * @param file         the checkpoint (for messages about missing or unexpected tensors)
     * @param configSource where the configuration came from, for shape messages ("config.json", "the GGUF metadata")
     */
    public WeightsAssembler(Path file, ModelConfig config, String configSource, ShapeOrder order) {
        this.file = file;
        this.config = config;
        this.configSource = configSource;
        this.order = order;
    }

    /**
     * @param tensors  the file's tensors by their names in the file
     * @param naming   canonical name → where it lies in the file
     * @param ignored  file names that are not weights (buffers such as GPT-2's {@code attn.bias})
     * @param arena    owns the mapped memory; handed to the weights
     */
    public Assembled assemble(Map<String, RawTensor> tensors, Function<String, Source> naming, Predicate<String> ignored,
                              Arena arena, String description) {
        Map<String, WeightMatrix> matrices = new LinkedHashMap<>();
        Map<String, float[]> vectors = new LinkedHashMap<>();
        List<TensorEntry> entries = new ArrayList<>();
        Set<String> claimed = new HashSet<>();
        for (TensorSpec spec : CanonicalTensors.of(config)) {
            Source src = naming.apply(spec.name());
            RawTensor raw = tensors.get(src.name());
            if (raw == null) {
                throw new FormatException(file, "missing tensor " + src.name());
            }
            claimed.add(src.name());
            QuantType type = checked(spec, src, raw);
            if (spec.matrix()) {
                matrices.put(spec.name(), Matrices.of(type, raw.data(), spec.rows(), spec.cols(), src.layout()));
            } else {
                float[] v = new float[spec.rows()];
                Matrices.of(type, raw.data(), 1, spec.rows(), Layout.OUT_IN).dequantizeRow(0, v, 0);
                vectors.put(spec.name(), v);
            }
            entries.add(new TensorEntry(spec.name(), src.name(), type.label(), spec.shape(), raw.data().byteSize(), raw.file(),
                    spec.matrix() && src.layout() == Layout.IN_OUT));
        }
        if (config.tiedEmbeddings()) {
            matrices.put(CanonicalTensors.OUTPUT, matrices.get(CanonicalTensors.TOKEN_EMBD));
        }
        Set<String> unexpected = new TreeSet<>();
        for (String name : tensors.keySet()) {
            if (!claimed.contains(name) && !ignored.test(name)) {
                unexpected.add(name);
            }
        }
        if (!unexpected.isEmpty()) {
            throw new FormatException(file, "unexpected tensor " + unexpected.iterator().next() + " ("
                    + unexpected.size() + " tensor(s) that a " + config.architecture().name().toLowerCase()
                    + " model with this configuration does not have)");
        }
        return new Assembled(new ModelWeights(config, matrices, vectors, arena, description), entries);
    }

    private QuantType checked(TensorSpec spec, Source src, RawTensor raw) {
        long[] want = expectedShape(spec, src.layout());
        if (!Arrays.equals(want, raw.shape())) {
            throw new FormatException(raw.file(), "tensor " + src.name() + " has shape " + Arrays.toString(raw.shape())
                    + " but " + configSource + " implies " + Arrays.toString(want));
        }
        QuantType type = raw.type();
        if (type == null) {
            throw new FormatException(raw.file(), "unsupported dtype " + raw.typeLabel() + " in tensor " + src.name());
        }
        if (spec.matrix() && src.layout() == Layout.IN_OUT && type.blockSize() != 1) {
            throw new FormatException(raw.file(), "tensor " + src.name() + " is stored [in][out], which " + type.label() + " cannot be");
        }
        if (spec.elements() % type.blockSize() != 0 || raw.data().byteSize() != type.bytesFor(spec.elements())) {
            throw new FormatException(raw.file(), "tensor " + src.name() + " has " + raw.data().byteSize() + " bytes, not what "
                    + type.label() + " " + Arrays.toString(want) + " needs");
        }
        return type;
    }

    private long[] expectedShape(TensorSpec spec, Layout layout) {
        if (!spec.matrix()) {
            return new long[] {spec.rows()};
        }
        boolean colsFirst = order == ShapeOrder.GGML || layout == Layout.IN_OUT;
        return colsFirst ? new long[] {spec.cols(), spec.rows()} : new long[] {spec.rows(), spec.cols()};
    }
}

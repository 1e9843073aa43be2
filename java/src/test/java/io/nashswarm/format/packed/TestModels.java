package io.nashswarm.format.packed;

import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.MatrixStorage;
import io.nashswarm.format.TensorSpec;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.quant.GgmlQuantizer;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.quant.MixedQuantizer;
import io.nashswarm.quant.PerWeightQuantizer;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.tokenizer.Tokenizers;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Small synthetic models built in memory, every storage type the engine has, and a tiny real-format tokenizer. */
public final class TestModels {
    private TestModels() {}

    /** 3 layers × 7 matrices + embedding + untied head = 23 matrices: one per {@link #RECIPES} entry. */
    public static final ModelConfig LLAMA = new ModelConfig(Architecture.LLAMA, 64, 128, 3, 4, 2, 320, 32, 1e-5f, 10000f,
            RopeStyle.INTERLEAVED, false);
    /** Four layers: enough distinct matrices (30) for every recipe of {@link #RECIPES} to appear. */
    public static final ModelConfig LLAMA_EVERY_TYPE = new ModelConfig(Architecture.LLAMA, 64, 128, 4, 4, 2, 320, 32, 1e-5f, 10000f,
            RopeStyle.INTERLEAVED, false);
    public static final ModelConfig GPT2 = new ModelConfig(Architecture.GPT2, 64, 256, 2, 4, 4, 320, 16, 1e-5f, 0f, null, true);

    /** A named way to store a float matrix. */
    record Recipe(String label, Function<WeightMatrix, WeightMatrix> make) {}

    static final List<Recipe> RECIPES = List.of(
            new Recipe("f32", m -> m),
            new Recipe("f16", m -> ggml(QuantType.F16, m)),
            new Recipe("bf16", m -> ggml(QuantType.BF16, m)),
            new Recipe("q8_0", m -> ggml(QuantType.Q8_0, m)),
            new Recipe("q4_0", m -> ggml(QuantType.Q4_0, m)),
            new Recipe("int8 g32 sym", m -> rtn(m, QuantType.INT8, GroupSpec.symmetric(32))),
            new Recipe("int8 g64 asym", m -> rtn(m, QuantType.INT8, GroupSpec.asymmetric(64))),
            new Recipe("int8 per-tensor sym", m -> rtn(m, QuantType.INT8, GroupSpec.perTensor(m.cols(), false))),
            new Recipe("int4 g32 sym", m -> rtn(m, QuantType.INT4, GroupSpec.symmetric(32))),
            new Recipe("int4 g32 asym", m -> rtn(m, QuantType.INT4, GroupSpec.asymmetric(32))),
            new Recipe("int4 g64 asym", m -> rtn(m, QuantType.INT4, GroupSpec.asymmetric(64))),
            new Recipe("int4 per-channel sym", m -> rtn(m, QuantType.INT4, GroupSpec.perChannel(m.cols(), false))),
            new Recipe("int4 per-channel asym", m -> rtn(m, QuantType.INT4, GroupSpec.perChannel(m.cols(), true))),
            new Recipe("int4 per-tensor asym", m -> rtn(m, QuantType.INT4, GroupSpec.perTensor(m.cols(), true))),
            new Recipe("int2 g32 asym", m -> rtn(m, QuantType.INT2, GroupSpec.asymmetric(32))),
            new Recipe("int2 g64 sym", m -> rtn(m, QuantType.INT2, GroupSpec.symmetric(64))),
            new Recipe("int2 per-channel asym", m -> rtn(m, QuantType.INT2, GroupSpec.perChannel(m.cols(), true))),
            new Recipe("nf4 g32", m -> RtnQuantizer.nf4(RowSource.of(m), GroupSpec.symmetric(32))),
            new Recipe("nf4 g64", m -> RtnQuantizer.nf4(RowSource.of(m), GroupSpec.symmetric(64))),
            new Recipe("nf4 per-tensor", m -> RtnQuantizer.nf4(RowSource.of(m), GroupSpec.perTensor(m.cols(), false))),
            new Recipe("mixed g32 sym", m -> mixed(m, GroupSpec.symmetric(32), 0, 1)),
            new Recipe("mixed g64 asym + outliers", m -> mixed(m, GroupSpec.asymmetric(64), 0.01, 2)),
            new Recipe("mixed g32 asym + outliers", m -> mixed(m, GroupSpec.asymmetric(32), 0.003, 3)),
            new Recipe("per-weight g32 sym", m -> perWeight(m, GroupSpec.symmetric(32), 4)),
            new Recipe("per-weight g64 sym", m -> perWeight(m, GroupSpec.symmetric(64), 5)));

    /** Float weights N(0, 0.1²) stored as F32, norms near 1, small biases; a tied head is the embedding itself. */
    public static ModelWeights random(ModelConfig c, long seed) {
        Random rng = new Random(seed);
        Map<String, WeightMatrix> matrices = new LinkedHashMap<>();
        Map<String, float[]> vectors = new LinkedHashMap<>();
        for (TensorSpec spec : CanonicalTensors.of(c)) {
            float[] v = new float[(int) spec.elements()];
            boolean norm = spec.name().contains("norm.weight");
            for (int i = 0; i < v.length; i++) {
                v[i] = norm ? 1f + 0.1f * (float) rng.nextGaussian() : 0.1f * (float) rng.nextGaussian();
            }
            if (spec.matrix()) {
                matrices.put(spec.name(), f32(v, spec.rows(), spec.cols(), Layout.OUT_IN));
            } else {
                vectors.put(spec.name(), v);
            }
        }
        if (c.tiedEmbeddings()) {
            matrices.put(CanonicalTensors.OUTPUT, matrices.get(CanonicalTensors.TOKEN_EMBD));
        }
        return new ModelWeights(c, matrices, vectors, null, "synthetic " + c.architecture());
    }

    /** A row-major ({@code OUT_IN}) or transposed ({@code IN_OUT}, values given [in][out]) F32 matrix on the heap. */
    static WeightMatrix f32(float[] v, int rows, int cols, Layout layout) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return Matrices.of(QuantType.F32, MemorySegment.ofArray(b.array()), rows, cols, layout);
    }

    /** The matrix re-stored [in][out] (as a GPT-2 Conv1D checkpoint keeps it) in a float type. */
    static WeightMatrix transposed(QuantType type, WeightMatrix m) {
        int rows = m.rows(), cols = m.cols();
        float[] row = new float[cols];
        float[] t = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = row[c];
            }
        }
        ByteBuffer b = ByteBuffer.allocate((int) type.bytesFor(t.length));
        GgmlQuantizer.quantize(type, t, 0, t.length, b);
        return Matrices.of(type, MemorySegment.ofArray(b.array()), rows, cols, Layout.IN_OUT);
    }

    /** F16, BF16, Q8_0 or Q4_0 from the matrix's rows (ggml's rounding). */
    public static WeightMatrix ggml(QuantType type, WeightMatrix m) {
        float[] row = new float[m.cols()];
        ByteBuffer b = ByteBuffer.allocate((int) type.bytesFor((long) m.rows() * m.cols()));
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, row, 0);
            GgmlQuantizer.quantize(type, row, 0, row.length, b);
        }
        return Matrices.of(type, MemorySegment.ofArray(b.array()), m.rows(), m.cols(), Layout.OUT_IN);
    }

    public static WeightMatrix rtn(WeightMatrix m, QuantType type, GroupSpec spec) {
        return RtnQuantizer.quantize(RowSource.of(m), type, spec, ScaleRule.MINMAX, Arena.ofAuto());
    }

    /** A width per weight drawn 70% 2-bit, 20% 4-bit, 10% 8-bit (the seeds' split). */
    static WeightMatrix perWeight(WeightMatrix m, GroupSpec spec, long seed) {
        Random rng = new Random(seed);
        byte[] widths = new byte[m.rows() * m.cols()];
        for (int i = 0; i < widths.length; i++) {
            double u = rng.nextDouble();
            widths[i] = (byte) (u < 0.7 ? 2 : u < 0.9 ? 4 : 8);
        }
        return PerWeightQuantizer.quantize(RowSource.of(m), spec, widths, ScaleRule.MINMAX, Arena.ofAuto());
    }

    /** Mixed widths drawn 60% 2-bit, 35% 4-bit, 5% 8-bit (about 3 bits), with a fraction of outliers. */
    static WeightMatrix mixed(WeightMatrix m, GroupSpec spec, double outlierFraction, long seed) {
        Random rng = new Random(seed);
        int groups = m.rows() * (m.cols() / spec.groupSize());
        byte[] widths = new byte[groups];
        for (int i = 0; i < groups; i++) {
            double u = rng.nextDouble();
            widths[i] = (byte) (u < 0.6 ? 2 : u < 0.95 ? 4 : 8);
        }
        long total = (long) m.rows() * m.cols();
        int n = (int) Math.round(total * outlierFraction);
        long[] outliers = rng.longs(0, total).distinct().limit(n).toArray();
        return MixedQuantizer.quantize(RowSource.of(m), spec, widths, n == 0 ? null : outliers, ScaleRule.MINMAX, Arena.ofAuto());
    }

    /** Each distinct matrix replaced by {@code f(name, matrix)} once (a tied head stays tied). */
    public static ModelWeights map(ModelWeights w, BiFunction<String, WeightMatrix, WeightMatrix> f) {
        Map<WeightMatrix, WeightMatrix> done = new IdentityHashMap<>();
        Map<String, WeightMatrix> out = new LinkedHashMap<>();
        w.matrices().forEach((name, m) -> out.put(name, done.computeIfAbsent(m, x -> f.apply(name, x))));
        return new ModelWeights(w.config(), out, w.vectors(), null, w.source());
    }

    /** The model with matrix number i (in canonical order, tied head excluded) stored by recipe i. */
    static ModelWeights everyRecipe(ModelWeights w) {
        List<String> names = new ArrayList<>(w.matrices().keySet());
        return map(w, (name, m) -> RECIPES.get(names.indexOf(name) % RECIPES.size()).make().apply(m));
    }

    /** The recipe label the matrix got in {@link #everyRecipe}. */
    static String recipeOf(ModelWeights w, String name) {
        return RECIPES.get(new ArrayList<>(w.matrices().keySet()).indexOf(name) % RECIPES.size()).label();
    }

    /**
     * A llama2.c tokenizer.bin written here: {@code <unk>}, {@code <s>}, {@code </s>}, the 256 byte pieces,
     * then a few merged pieces and the single letters and space, with scores (300 tokens).
     */
    public static Tokenizer tinyTokenizer(Path dir) {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
            scores.add(0f);
        }
        String[] merged = {" t", "th", "he", " the", "in", " a", "an", "nd", " and", "er", "on", " o", " of", "re"};
        for (int i = 0; i < merged.length; i++) {
            pieces.add(merged[i]);
            scores.add((float) -i);
        }
        String singles = " abcdefghijklmnopqrstuvwxyz";
        for (int i = 0; i < singles.length(); i++) {
            pieces.add(String.valueOf(singles.charAt(i)));
            scores.add(-100f - i);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer head = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(8);
        out.writeBytes(head.array());
        for (int i = 0; i < pieces.size(); i++) {
            byte[] p = pieces.get(i).getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(scores.get(i)).putInt(p.length).array());
            out.writeBytes(p);
        }
        Path file = dir.resolve("tok-tiny.bin");
        try {
            Files.write(file, out.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Tokenizer t = Tokenizers.load(file);
        assertEquals(pieces.size(), t.vocabSize());
        return t;
    }

    /** Every section's bytes of two matrices are identical (same names, same order, same content). */
    static boolean sameBytes(String name, WeightMatrix a, WeightMatrix b) {
        var sa = MatrixStorage.of(name, a).sections();
        var sb = MatrixStorage.of(name, b).sections();
        if (!List.copyOf(sa.keySet()).equals(List.copyOf(sb.keySet()))) {
            return false;
        }
        for (String s : sa.keySet()) {
            if (sa.get(s).mismatch(sb.get(s)) != -1) {
                return false;
            }
        }
        return true;
    }
}

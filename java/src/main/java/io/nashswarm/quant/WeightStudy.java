package io.nashswarm.quant;

import io.nashswarm.EngineException;
import io.nashswarm.quant.GroupQuantizer.ScaleRule;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Weight-space study of quantization methods on real matrices (the GPT-2 124M attention weights):
 * for each method and matrix, the real bits/weight (from {@code storageBytes}: every scale, zero and
 * map counted), the weight MSE, the SQNR, and the gap to the Gaussian rate–distortion bound.
 *
 * <p>The bound: a Gaussian source of variance σ² coded at R bits/sample has distortion at least
 * D(R) = σ²·4^(−R); the gap ½·log2(MSE / D(R)) is how many bits per weight the method spends beyond
 * what an ideal coder of a Gaussian with the matrix's variance would need for the same MSE. Real
 * weights are heavy-tailed (kurtosis well above the Gaussian 3), so this is a reference, not a true
 * bound for them. Calibrated methods need activations and are not part of this study.
 */
public final class WeightStudy {
    private WeightStudy() {}

    /** The GPT-2 files: layers and projections. */
    public static final int[] LAYERS = {1, 6, 12};
    public static final String[] PROJECTIONS = {"query", "key", "value", "proj"};

    /** A matrix in the engine's orientation: {@code w[o·cols + i]}, rows = outputs, cols = inputs. */
    public record Matrix(String name, int rows, int cols, float[] w) implements RowSource {
        @Override
        public void row(int r, float[] out) {
            System.arraycopy(w, r * cols, out, 0, cols);
        }
    }

    public enum Method {
        INT4_TENSOR("int4 per-tensor", "4-bit, one scale per tensor (the seeds' strawman)"),
        INT4_G64("int4 g64", "4-bit, fp16 scale per 64"),
        INT4_G128("int4 g128", "4-bit, fp16 scale per 128"),
        NF4_G64("nf4 g64", "NormalFloat4, fp16 absmax per 64"),
        FP4_G64("fp4 g64", "bitsandbytes FP4 levels, fp16 absmax per 64"),
        Q4_0("q4_0", "llama.cpp Q4_0 (blocks of 32)"),
        INT2_G64("int2 g64", "2-bit, fp16 scale per 64"),
        INT8_G64("int8 g64", "8-bit, fp16 scale per 64"),
        Q8_0("q8_0", "llama.cpp Q8_0 (blocks of 32)"),
        NASH_GROUP("nash-swarm group", "10/20/70 of g64 groups at 8/4/2 bits by swarm-smoothed |w|"),
        NASH_WEIGHT("nash-swarm per-weight", "10/20/70 of weights at 8/4/2 bits, 2-bit width map per weight"),
        TARGET_3("target 3.0 bpw", "g64 widths from the bit allocator, 3.0 bpw over all matrices"),
        TARGET_4("target 4.0 bpw", "g64 widths from the bit allocator, 4.0 bpw over all matrices");

        public final String label;
        public final String description;

        Method(String label, String description) {
            this.label = label;
            this.description = description;
        }
    }

    /** One method on one matrix (or, with matrix "all", pooled over every matrix). */
    public record Result(String matrix, String method, long weights, long bytes, double mse, double sqnrDb, double gapBits) {
        public double bitsPerWeight() {
            return 8.0 * bytes / weights;
        }
    }

    /** Shape of a matrix's weight distribution. */
    public record Stats(String matrix, double mean, double std, double kurtosis, double maxAbsOverStd) {}

    public record Report(List<Stats> stats, List<Result> perMatrix, List<Result> aggregate, List<String> notes) {}

    /** Loads {@code layer{1,6,12}/att.{query,key,value,proj}.w.dat} from {@code dir}, transposed to [out][in]. */
    public static List<Matrix> load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new EngineException("GPT-2 attention matrices not found: " + dir.toAbsolutePath().normalize()
                    + " is not a directory (expected layer{1,6,12}/att.{query,key,value,proj}.w.dat; see ../shared/data/README.md)");
        }
        List<Matrix> out = new ArrayList<>();
        for (int layer : LAYERS) {
            for (String p : PROJECTIONS) {
                Path f = dir.resolve("layer" + layer).resolve("att." + p + ".w.dat");
                if (!Files.isRegularFile(f)) {
                    throw new EngineException("GPT-2 attention matrix " + f + " is missing (see ../shared/data/README.md)");
                }
                out.add(readSquareBigEndian(f, "layer" + layer + "." + p));
            }
        }
        return out;
    }

    /** A square float32 big-endian matrix stored [in][out], returned as [out][in]. */
    static Matrix readSquareBigEndian(Path f, String name) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (IOException e) {
            throw new EngineException(f + ": cannot read: " + e.getMessage());
        }
        int n = (int) Math.round(Math.sqrt(bytes.length / 4.0));
        if (bytes.length % 4 != 0 || (long) n * n * 4 != bytes.length || n % 32 != 0) {
            throw new EngineException(f + ": " + bytes.length + " bytes is not a square float32 matrix with a side that is a multiple of 32");
        }
        FloatBuffer fb = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
        float[] w = new float[n * n];
        for (int in = 0; in < n; in++) {
            for (int o = 0; o < n; o++) {
                float v = fb.get(in * n + o);
                if (!Float.isFinite(v)) {
                    throw new EngineException(f + ": non-finite weight at [" + in + "][" + o + "]");
                }
                w[o * n + in] = v;
            }
        }
        return new Matrix(name, n, n, w);
    }

    public static Report run(List<Matrix> matrices, List<Method> methods, int swarmRadius, Progress progress) {
        List<Result> per = new ArrayList<>();
        List<Result> agg = new ArrayList<>();
        for (Method m : methods) {
            try (Arena arena = Arena.ofShared()) { // quantizers write from worker threads
                List<WeightMatrix> q = quantize(matrices, m, swarmRadius, arena, progress);
                List<Result> rows = new ArrayList<>();
                for (int i = 0; i < matrices.size(); i++) {
                    rows.add(measure(matrices.get(i), m.label, q.get(i)));
                }
                per.addAll(rows);
                agg.add(pool(m.label, matrices, rows));
            }
        }
        List<Stats> stats = matrices.stream().map(WeightStudy::stats).toList();
        double kMin = stats.stream().mapToDouble(Stats::kurtosis).min().orElse(0);
        double kMax = stats.stream().mapToDouble(Stats::kurtosis).max().orElse(0);
        List<String> notes = List.of(
                "Matrices in the engine's orientation ([out][in], groups along the input dimension, as at inference). Symmetric codes, min/max (round-to-nearest) scales.",
                "bits/weight = storageBytes·8 / weights: every fp16 scale, width map and code counted. SQNR = 10·log10(Σw² / Σ(w−ŵ)²).",
                "gap = ½·log2(MSE / D(R)) with D(R) = σ²·4^(−R), the rate–distortion bound of a Gaussian with the matrix's variance at the method's real rate R."
                        + " Real weights are heavy-tailed (kurtosis here " + String.format("%.1f–%.1f", kMin, kMax)
                        + "; Gaussian = 3), so the Gaussian bound is a reference, not a true bound for them. The 'all' rows pool weights and errors; their gap is the mean of the matrices' gaps.",
                "nash-swarm smoothing radius " + swarmRadius + " ((2r+1)² box of |w|). The per-weight width map alone costs 2 bits/weight;"
                        + " even an ideal entropy coder needs H(0.1, 0.2, 0.7) = 1.157 bits/weight for a 10/20/70 map.",
                "target rows: one bit allocation over all " + matrices.size() + " matrices together (equal marginal error per bit), so single matrices may sit above or below the target."
                        + " Uncalibrated, it minimizes the total squared WEIGHT error, so matrices of small weights get few bits; the model's output error"
                        + " depends on the activations too, which quantize's target-bpw-calib weighs in (E[x²] per input channel).",
                "A negative gap means the method beats the Gaussian bound at its rate: possible only because the matrix is not Gaussian.",
                "Calibrated methods (nash-swarm-calib, target-bpw-calib) need activations and are out of scope here.");
        return new Report(stats, per, agg, notes);
    }

    private static List<WeightMatrix> quantize(List<Matrix> matrices, Method m, int radius, Arena arena, Progress progress) {
        List<WeightMatrix> out = new ArrayList<>();
        if (m == Method.TARGET_3 || m == Method.TARGET_4) {
            GroupSpec spec = GroupSpec.symmetric(64);
            List<BitAllocator.Item> items = new ArrayList<>();
            long weights = 0;
            for (Matrix x : matrices) {
                items.add(new BitAllocator.Item(x.name(), x.rows(), x.cols(), spec, 0, MixedQuantizer.groupErrors(x, spec, ScaleRule.MINMAX, null)));
                weights += (long) x.rows() * x.cols();
            }
            BitAllocator.Allocation a = BitAllocator.allocate(items, 0, weights, m == Method.TARGET_3 ? 3.0 : 4.0);
            for (int i = 0; i < matrices.size(); i++) {
                progress.message(m.label + " " + matrices.get(i).name());
                out.add(MixedQuantizer.quantize(matrices.get(i), spec, a.widths().get(i), null, ScaleRule.MINMAX, arena));
                progress.step(1);
            }
            return out;
        }
        for (Matrix x : matrices) {
            progress.message(m.label + " " + x.name());
            out.add(switch (m) {
                case INT4_TENSOR -> TensorQuantizer.uniform(x, QuantType.INT4, GroupSpec.perTensor(x.cols(), false), arena);
                case INT4_G64 -> TensorQuantizer.uniform(x, QuantType.INT4, GroupSpec.symmetric(64), arena);
                case INT4_G128 -> TensorQuantizer.uniform(x, QuantType.INT4, GroupSpec.symmetric(128), arena);
                case NF4_G64 -> TensorQuantizer.uniform(x, QuantType.NF4, GroupSpec.symmetric(64), arena);
                case FP4_G64 -> TensorQuantizer.uniform(x, QuantType.FP4, GroupSpec.symmetric(64), arena);
                case Q4_0 -> TensorQuantizer.dense(x, QuantType.Q4_0, arena);
                case INT2_G64 -> TensorQuantizer.uniform(x, QuantType.INT2, GroupSpec.symmetric(64), arena);
                case INT8_G64 -> TensorQuantizer.uniform(x, QuantType.INT8, GroupSpec.symmetric(64), arena);
                case Q8_0 -> TensorQuantizer.dense(x, QuantType.Q8_0, arena);
                case NASH_GROUP -> MixedQuantizer.quantize(x, GroupSpec.symmetric(64),
                        NashSplit.SEEDS.assignTiles(SwarmImportance.groupMeans(x, radius, 64), x.rows(), x.cols() / 64), null, ScaleRule.MINMAX, arena);
                case NASH_WEIGHT -> PerWeightQuantizer.quantize(x, GroupSpec.symmetric(64),
                        NashSplit.SEEDS.assign(SwarmImportance.perWeight(x, radius)), ScaleRule.MINMAX, arena);
                case TARGET_3, TARGET_4 -> throw new IllegalStateException();
            });
            progress.step(1);
        }
        return out;
    }

    /** Error of {@code q} against the original, in float64. */
    static Result measure(Matrix x, String method, WeightMatrix q) {
        double se = 0, sw = 0;
        float[] row = new float[x.cols()];
        for (int r = 0; r < x.rows(); r++) {
            q.dequantizeRow(r, row, 0);
            for (int c = 0; c < x.cols(); c++) {
                double w = x.w()[r * x.cols() + c], d = w - row[c];
                se += d * d;
                sw += w * w;
            }
        }
        long n = (long) x.rows() * x.cols();
        double mse = se / n, bpw = 8.0 * q.storageBytes() / n;
        return new Result(x.name(), method, n, q.storageBytes(), mse, 10 * Math.log10(sw / se), gap(mse, variance(x), bpw));
    }

    /** ½·log2(MSE / (σ²·4^(−R))). */
    static double gap(double mse, double variance, double bitsPerWeight) {
        return 0.5 * (Math.log(mse / variance) / Math.log(2)) + bitsPerWeight;
    }

    static double variance(Matrix x) {
        double std = stats(x).std();
        return std * std;
    }

    static Stats stats(Matrix x) {
        double s = 0;
        for (float v : x.w()) {
            s += v;
        }
        double mean = s / x.w().length, m2 = 0, m4 = 0, max = 0;
        for (float v : x.w()) {
            double d = v - mean;
            m2 += d * d;
            m4 += d * d * d * d;
            max = Math.max(max, Math.abs(v));
        }
        m2 /= x.w().length;
        m4 /= x.w().length;
        double std = Math.sqrt(m2);
        return new Stats(x.name(), mean, std, m4 / (m2 * m2), max / std);
    }

    private static Result pool(String method, List<Matrix> matrices, List<Result> rows) {
        long n = 0, bytes = 0;
        double se = 0, sw = 0, gaps = 0;
        for (int i = 0; i < rows.size(); i++) {
            Result r = rows.get(i);
            n += r.weights();
            bytes += r.bytes();
            se += r.mse() * r.weights();
            for (float v : matrices.get(i).w()) {
                sw += (double) v * v;
            }
            gaps += r.gapBits();
        }
        return new Result("all", method, n, bytes, se / n, 10 * Math.log10(sw / se), gaps / rows.size());
    }

    public static String toMarkdown(Report report) {
        StringBuilder sb = new StringBuilder();
        sb.append("## Matrices\n\n| matrix | mean | std | kurtosis | max|w|/std |\n|---|---:|---:|---:|---:|\n");
        for (Stats s : report.stats()) {
            sb.append(String.format("| %s | %.5f | %.5f | %.2f | %.1f |%n", s.matrix(), s.mean(), s.std(), s.kurtosis(), s.maxAbsOverStd()));
        }
        sb.append("\n## All matrices pooled\n\n");
        table(sb, report.aggregate());
        sb.append("\n## Per matrix\n\n");
        table(sb, report.perMatrix());
        sb.append("\n## Notes\n\n");
        for (String n : report.notes()) {
            sb.append("- ").append(n).append('\n');
        }
        return sb.toString().stripTrailing();
    }

    private static void table(StringBuilder sb, List<Result> rows) {
        sb.append("| matrix | method | bits/weight | MSE | SQNR dB | gap to Gaussian R(D), bits |\n|---|---|---:|---:|---:|---:|\n");
        for (Result r : rows) {
            sb.append(String.format("| %s | %s | %.4f | %.4e | %.2f | %.3f |%n", r.matrix(), r.method(), r.bitsPerWeight(), r.mse(), r.sqnrDb(), r.gapBits()));
        }
    }

    /** The report as plain maps and lists, for JSON. */
    public static Map<String, Object> toMap(Report report) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("stats", report.stats().stream().map(s -> {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("matrix", s.matrix());
            x.put("mean", s.mean());
            x.put("std", s.std());
            x.put("kurtosis", s.kurtosis());
            x.put("max_abs_over_std", s.maxAbsOverStd());
            return x;
        }).toList());
        m.put("aggregate", report.aggregate().stream().map(WeightStudy::resultMap).toList());
        m.put("per_matrix", report.perMatrix().stream().map(WeightStudy::resultMap).toList());
        m.put("notes", report.notes());
        return m;
    }

    private static Map<String, Object> resultMap(Result r) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("matrix", r.matrix());
        x.put("method", r.method());
        x.put("weights", r.weights());
        x.put("bytes", r.bytes());
        x.put("bits_per_weight", r.bitsPerWeight());
        x.put("mse", r.mse());
        x.put("sqnr_db", r.sqnrDb());
        x.put("gap_bits", r.gapBits());
        return x;
    }
}

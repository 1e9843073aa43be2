package io.nashswarm.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.TestData;
import io.nashswarm.cli.CliRun;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class WeightStudyTest {
    @TempDir
    Path dir;

    /** Expected numbers of one matrix under int4 g64 (symmetric RTN along the input dimension), in float64. */
    record Expected(double bpw, double mse, double sqnr, double gap) {}

    /** {@code file[in][out]} → error of int4 g64 groups along {@code in}, computed here from the definitions. */
    static Expected int4g64(float[][] file) {
        int n = file.length;
        double se = 0, sw = 0, sum = 0;
        for (int o = 0; o < n; o++) {
            for (int g0 = 0; g0 < n; g0 += 64) {
                float m = 0;
                for (int i = g0; i < g0 + 64; i++) {
                    if (Math.abs(file[i][o]) > Math.abs(m)) {
                        m = file[i][o];
                    }
                }
                float s = f16Up(-m / 8);
                for (int i = g0; i < g0 + 64; i++) {
                    float w = file[i][o];
                    int q = s == 0 ? 8 : Math.max(0, Math.min(15, Math.round(w / s) + 8));
                    double d = w - (double) (s * (q - 8));
                    se += d * d;
                    sw += (double) w * w;
                    sum += w;
                }
            }
        }
        double count = (double) n * n, mean = sum / count, var = sw / count - mean * mean;
        double bpw = (n * n * 4.0 + 16.0 * n * n / 64) / (n * n);
        double mse = se / count;
        return new Expected(bpw, mse, 10 * Math.log10(sw / se), 0.5 * Math.log(mse / (var * Math.pow(4, -bpw))) / Math.log(2));
    }

    static float f16Up(float s) {
        short h = Float.floatToFloat16(s);
        float f = Float.float16ToFloat(h);
        return Math.abs(f) < Math.abs(s) ? Float.float16ToFloat((short) (h + 1)) : f;
    }

    /** Synthetic [in][out] matrices whose scale depends on the input index, so the orientation matters. */
    private float[][][] writeSynthetic(Path root, int n) throws Exception {
        Random rnd = new Random(3);
        float[][][] all = new float[12][][];
        int k = 0;
        for (int layer : WeightStudy.LAYERS) {
            for (String p : WeightStudy.PROJECTIONS) {
                float[][] w = new float[n][n];
                ByteBuffer b = ByteBuffer.allocate(4 * n * n).order(ByteOrder.BIG_ENDIAN);
                for (int i = 0; i < n; i++) {
                    double std = 0.01 * (1 + 10 * (i % 7));
                    for (int o = 0; o < n; o++) {
                        w[i][o] = (float) (std * rnd.nextGaussian() * (rnd.nextInt(50) == 0 ? 8 : 1));
                        b.putFloat(w[i][o]);
                    }
                }
                Path f = root.resolve("layer" + layer).resolve("att." + p + ".w.dat");
                Files.createDirectories(f.getParent());
                Files.write(f, b.array());
                all[k++] = w;
            }
        }
        return all;
    }

    @Test
    void cliNumbersMatchAnIndependentComputation() throws Exception {
        Path data = dir.resolve("data"), out = dir.resolve("out").resolve("study"); // --out is created
        float[][][] w = writeSynthetic(data, 128);
        CliRun.Result r = CliRun.run("weight-study", "--data", data.toString(), "--json", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(json, new ObjectMapper().readTree(Files.readString(out.resolve("weight-study.json"))));
        assertTrue(Files.readString(out.resolve("weight-study.md")).contains("| all | int4 g64 | 4.2500 |"));
        JsonNode row = null;
        for (JsonNode x : json.get("per_matrix")) {
            if (x.get("matrix").asText().equals("layer6.key") && x.get("method").asText().equals("int4 g64")) {
                row = x;
            }
        }
        assertNotNull(row);
        Expected e = int4g64(w[5]);
        assertEquals(e.bpw(), row.get("bits_per_weight").asDouble(), 1e-12);
        assertEquals(e.mse(), row.get("mse").asDouble(), 1e-9 * e.mse());
        assertEquals(e.sqnr(), row.get("sqnr_db").asDouble(), 1e-9);
        assertEquals(e.gap(), row.get("gap_bits").asDouble(), 1e-9);
        // Every method appears once per matrix plus once pooled; target rows hit their budget over the pool.
        assertEquals(12 * WeightStudy.Method.values().length, json.get("per_matrix").size());
        for (JsonNode x : json.get("aggregate")) {
            if (x.get("method").asText().startsWith("target")) {
                double target = x.get("method").asText().contains("3.0") ? 3.0 : 4.0;
                // within one tile's step of the budget (these 128x128 matrices have two groups per row: 16-row tiles)
                assertTrue(x.get("bits_per_weight").asDouble() <= target && x.get("bits_per_weight").asDouble() > target - 0.01, x.toString());
            }
        }
    }

    @Test
    void missingDataIsAClearError() {
        CliRun.Result r = CliRun.run("weight-study", "--data", dir.resolve("nothing").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("GPT-2 attention matrices not found") && r.err().contains("nothing"), r.err());
    }

    @Test
    void realGpt2Layer1QueryMatchesIndependentComputation() throws Exception {
        Path data = TestData.require("gpt2-124M-attention");
        List<WeightStudy.Matrix> matrices = WeightStudy.load(data);
        WeightStudy.Report rep = WeightStudy.run(matrices, List.of(WeightStudy.Method.INT4_G64, WeightStudy.Method.INT4_TENSOR), 1, Progress.none());
        byte[] bytes = Files.readAllBytes(data.resolve("layer1/att.query.w.dat"));
        var fb = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
        float[][] file = new float[768][768];
        for (int i = 0; i < 768; i++) {
            fb.get(file[i]);
        }
        Expected e = int4g64(file);
        WeightStudy.Result got = rep.perMatrix().stream().filter(x -> x.matrix().equals("layer1.query") && x.method().equals("int4 g64"))
                .findFirst().orElseThrow();
        assertEquals(4.25, got.bitsPerWeight(), 1e-12);
        assertEquals(e.mse(), got.mse(), 1e-9 * e.mse());
        assertEquals(e.sqnr(), got.sqnrDb(), 1e-9);
        assertEquals(e.gap(), got.gapBits(), 1e-9);
        // Real weights are heavy-tailed: the last layer's output projection most of all.
        double kurt = rep.stats().stream().filter(s -> s.matrix().equals("layer12.proj")).findFirst().orElseThrow().kurtosis();
        assertTrue(kurt > 100, "kurtosis " + kurt);
        // One scale for the whole tensor (the seeds' strawman) is far worse than a scale per 64.
        WeightStudy.Result tensor = rep.aggregate().get(1), g64 = rep.aggregate().get(0);
        assertTrue(tensor.sqnrDb() < g64.sqnrDb() - 6, tensor + " vs " + g64);
    }
}

package io.nashswarm.model;

import io.nashswarm.EngineException;
import io.nashswarm.TestData;
import io.nashswarm.cuda.Backends;
import io.nashswarm.format.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU's f16 KV cache ({@code --kv-cache f16}, {@link CpuBackend#HALF_KV}): its kernels against float64 on the
 * halves' values, the real tiny models' logits against run.c's with a stated tolerance, values past f16's range
 * refused with a message, and the option's choices.
 */
class HalfKvCacheTest {
    /**
     * Logits of the real tiny models with keys and values rounded to f16 (relative error up to 2^-11 each) against run.c's
     * f32: within 3e-2 absolute (the logits are of order 1-10; measured 1.5e-2 on stories260K, 2.3e-3 on aidreams260K,
     * against 1e-4 with the f32 cache, LlamaRunCOracleTest).
     */
    static final double TOL = 3e-2;

    /**
     * The kernels multiply halves scaled by 2^-112, so a product below float's normal range (2^-126, i.e. 2^-14 after
     * rescaling: a subnormal half times a weight) keeps fewer bits; its absolute error is at most float's smallest
     * subnormal rescaled, 2^-149 · 2^112 = 2^-37 per term.
     */
    static final double SUBNORMAL = 0x1p-37;

    @Test
    void halfKernelsMatchFloat64OnTheHalvesValues() {
        Random rnd = new Random(13);
        int t = Ops.KEY_TILE;
        for (int n : new int[] {8, 64, 80, 7}) {
            for (int count : new int[] {1, 5, 31, 97}) {
                int tiles = (count + t - 1) / t;
                float[] q = new float[2 + n];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) rnd.nextGaussian();
                }
                short[] k = new short[3 + tiles * t * n], v = new short[1 + count * n];
                double[][] keys = new double[count][n], values = new double[count][n];
                for (int j = 0; j < count; j++) {
                    for (int i = 0; i < n; i++) {
                        short hk = special(rnd, j * n + i), hv = special(rnd, j * n + i + 7);
                        k[3 + j / t * t * n + i * t + j % t] = hk;
                        v[1 + j * n + i] = hv;
                        keys[j][i] = Float.float16ToFloat(hk);
                        values[j][i] = Float.float16ToFloat(hv);
                    }
                }
                float[] scores = new float[2 + count + t];
                Arrays.fill(scores, Float.NaN);
                float scale = 0.125f;
                Ops.scores(q, 2, k, 3, n, count, scale, scores, 2);
                for (int j = 0; j < count; j++) {
                    double want = 0, mag = 0;
                    for (int i = 0; i < n; i++) {
                        want += q[2 + i] * keys[j][i];
                        mag += Math.abs(q[2 + i] * keys[j][i]);
                    }
                    assertEquals(want * scale, scores[2 + j], ((n + 1) / 2 + 3) * 0x1p-24 * mag * scale + n * SUBNORMAL * scale, "score " + j + ", n " + n);
                }
                for (int j = 2 + count; j < scores.length; j++) {
                    assertEquals(Float.NaN, scores[j], "past the count, " + j);
                }
                for (int j = 0; j < count; j++) {
                    scores[2 + j] = (float) Math.abs(rnd.nextGaussian()) / count; // weights as a softmax gives them
                }
                float[] out = new float[3 + n];
                Arrays.fill(out, Float.NaN);
                Ops.mix(scores, 2, count, v, 1, n, out, 3);
                for (int i = 0; i < n; i++) {
                    double want = 0, mag = 0;
                    for (int j = 0; j < count; j++) {
                        want += scores[2 + j] * values[j][i];
                        mag += Math.abs(scores[2 + j] * values[j][i]);
                    }
                    assertEquals(want, out[3 + i], (count + 2) * 0x1p-24 * mag + count * SUBNORMAL, "output " + i + ", n " + n + ", count " + count);
                }
            }
        }
    }

    /** Mostly Gaussian halves, with the largest finite half, subnormals and signed zeros among them. */
    private static short special(Random rnd, int i) {
        return switch (i % 11) {
            case 0 -> Float.floatToFloat16(65504f);
            case 1 -> Float.floatToFloat16(-65504f);
            case 2 -> (short) 0x0001;            // the smallest subnormal, 2^-24
            case 3 -> (short) 0x83ff;            // the largest negative subnormal
            case 4 -> (short) 0x8000;            // -0
            default -> Float.floatToFloat16((float) rnd.nextGaussian());
        };
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stories260K", "aidreams260K"})
    void logitsStayCloseToRunC(String name) throws Exception {
        Path bin = TestData.require("models/" + name + "/" + name + ".bin");
        RunCOracle.Logits expected = RunCOracle.logits(name + "-logits.txt");
        try (var m = ModelLoader.loadWeights(bin)) {
            TransformerModel model = TransformerModel.create(m.weights(), CpuBackend.HALF_KV);
            InferenceState s = model.newState();
            int[] ids = expected.ids();
            double worst = 0;
            for (int p = 0; p < ids.length; p++) {
                float[] logits = model.forward(s, ids, p, 1);
                for (int i = 0; i < logits.length; i++) {
                    worst = Math.max(worst, Math.abs(logits[i] - expected.logits()[p][i]));
                }
            }
            System.out.printf("%s f16 KV cache: largest logit difference from run.c %.2e over %d positions%n", name, worst, ids.length);
            assertTrue(worst <= TOL, name + ": logits " + worst + " from run.c's");

            // The same positions as one batch: each KV head's halves are widened once for all rows (CpuBackend's batch
            // attention) instead of inside the kernels per row; the cached halves are the same, so the logits differ from
            // token by token's only in float rounding (sums in another order): within 1e-4 of the largest logit.
            float[][] decoded = new float[ids.length][], batch = new float[ids.length][];
            InferenceState one = model.newState();
            for (int p = 0; p < ids.length; p++) {
                decoded[p] = model.forward(one, ids, p, 1).clone();
            }
            model.forward(model.newState(), ids, 0, ids.length, 0, (i, l, off) -> batch[i] = Arrays.copyOfRange(l, off, off + model.config().vocabSize()));
            for (int p = 0; p < ids.length; p++) {
                double top = 0, diff = 0;
                for (int i = 0; i < decoded[p].length; i++) {
                    top = Math.max(top, Math.abs(decoded[p][i]));
                    diff = Math.max(diff, Math.abs(decoded[p][i] - batch[p][i]));
                }
                assertTrue(diff <= 1e-4 * top, name + " position " + p + ": batch logits " + diff + " from token by token's (largest " + top + ")");
            }
        }
    }

    /** The range check sits before the conversion, on floats: 65519.996 rounds to 65504 and is kept, 65520 rounds to infinity. */
    @Test
    void theRangeEndsWhereHalvesRoundToInfinity() {
        ModelConfig c = new ModelConfig(Architecture.LLAMA, 64, 128, 1, 4, 4, 32, 8, 1e-5f, 10000f, RopeStyle.INTERLEAVED, false);
        Backend.KvCache cache = CpuBackend.HALF_KV.kvCache(c, 8, 1);
        float[] k = new float[64], v = new float[64];
        k[63] = Math.nextDown(65520f);
        v[0] = -Math.nextDown(65520f);
        cache.store(0, new CpuBackend.Floats(k), new CpuBackend.Floats(v), 1, 0);
        for (float bad : new float[] {65520f, -65520f, Float.NaN, Float.POSITIVE_INFINITY}) {
            for (int at : new int[] {0, 5, 63}) {
                float[] kb = k.clone(), vb = v.clone();
                (at == 5 ? vb : kb)[at] = bad;
                EngineException e = assertThrows(EngineException.class, () -> cache.store(0, new CpuBackend.Floats(kb), new CpuBackend.Floats(vb), 1, 1),
                        bad + " at " + at);
                assertTrue(e.getMessage().contains((at == 5 ? "value " : "key ") + bad), e.getMessage());
            }
        }
    }

    @Test
    void valuesPastTheHalfRangeAreRefused() {
        ModelConfig c = new ModelConfig(Architecture.LLAMA, 64, 128, 1, 4, 4, 32, 8, 1e-5f, 10000f, RopeStyle.INTERLEAVED, false);
        Backend.KvCache cache = CpuBackend.HALF_KV.kvCache(c, 8, 1);
        float[] k = new float[64], v = new float[64];
        cache.store(0, new CpuBackend.Floats(k), new CpuBackend.Floats(v), 1, 0); // zeros are fine
        v[17] = 1e5f;
        EngineException e = assertThrows(EngineException.class, () -> cache.store(0, new CpuBackend.Floats(k), new CpuBackend.Floats(v), 1, 1));
        assertTrue(e.getMessage().contains("f16") && e.getMessage().contains("--kv-cache f32") && e.getMessage().contains("position 1"), e.getMessage());
        assertEquals(CpuBackend.HALF_KV.kvCache(c, 8, 1).bytes() * 2, CpuBackend.INSTANCE.kvCache(c, 8, 1).bytes(), "half the bytes");
    }

    @Test
    void theOptionChoosesTheCpuCacheOrSaysWhyNot() {
        assertSame(CpuBackend.HALF_KV, Backends.select("cpu", "f16"));
        assertSame(CpuBackend.INSTANCE, Backends.select("cpu", "F32"));
        EngineException cuda = assertThrows(EngineException.class, () -> Backends.select("cuda", "f16"));
        assertTrue(cuda.getMessage().contains("CPU backend only"), cuda.getMessage());
        EngineException bad = assertThrows(EngineException.class, () -> Backends.select("cpu", "bf16"));
        assertTrue(bad.getMessage().contains("choose f32 or f16"), bad.getMessage());
    }
}

package io.nashswarm.model;

import io.nashswarm.TestData;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.kernel.Parallel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The LLaMA forward pass against llama2.c's run.c on the real tiny models: logits at every position
 * within 1e-4 (absolute; the logits are of order 1–10, run.c computes in float32 with another
 * summation order), and 100 greedy tokens identical.
 */
class LlamaRunCOracleTest {
    static final double TOL = 1e-4;

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Parallel.defaultThreads());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stories260K", "aidreams260K"})
    void logitsMatchRunCTokenByToken(String name) throws Exception {
        Path bin = TestData.require("models/" + name + "/" + name + ".bin");
        RunCOracle.Logits expected = RunCOracle.logits(name + "-logits.txt");
        try (var m = ModelLoader.loadWeights(bin)) {
            TransformerModel model = TransformerModel.create(m.weights());
            // Decode one token at a time, as run.c does.
            InferenceState s = model.newState();
            int[] ids = expected.ids();
            for (int p = 0; p < ids.length; p++) {
                float[] logits = model.forward(s, ids, p, 1);
                assertClose(expected.logits()[p], logits, name + " position " + p);
            }
            // Prefill: the same positions as one batch must give the same logits.
            InferenceState batch = model.newState();
            float[][] got = new float[ids.length][];
            model.forward(batch, ids, 0, ids.length, 0, (i, l, off) -> got[i] = java.util.Arrays.copyOfRange(l, off, off + model.config().vocabSize()));
            for (int p = 0; p < ids.length; p++) {
                assertClose(expected.logits()[p], got[p], name + " prefill position " + p);
            }
        }
    }

    @Test
    void singleThreadGivesTheSameLogits() throws Exception {
        Path bin = TestData.require("models/stories260K/stories260K.bin");
        RunCOracle.Logits expected = RunCOracle.logits("stories260K-logits.txt");
        Parallel.setThreads(1);
        try (var m = ModelLoader.loadWeights(bin)) {
            TransformerModel model = TransformerModel.create(m.weights());
            InferenceState s = model.newState();
            float[] last = model.forward(s, expected.ids(), 0, expected.ids().length);
            assertClose(expected.logits()[expected.ids().length - 1], last, "single thread");
        }
    }

    @Test
    void greedyIdsMatchRunCForThreePromptsOf100Tokens() throws Exception {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        var cases = RunCOracle.greedy("aidreams260K-greedy.txt");
        assertEquals(3, cases.size());
        try (var m = ModelLoader.loadWeights(bin)) {
            TransformerModel model = TransformerModel.create(m.weights());
            for (var c : cases) {
                InferenceState s = model.newState();
                float[] logits = model.forward(s, c.promptIds(), 0, c.promptIds().length);
                int[] got = new int[c.generatedIds().length];
                for (int i = 0; i < got.length; i++) {
                    got[i] = Sampler.argmax(logits);
                    if (i + 1 < got.length) {
                        logits = model.forward(s, got, i, 1);
                    }
                }
                assertArrayEquals(c.generatedIds(), got, "greedy ids for prompt '" + c.prompt() + "'");
            }
        }
    }

    @Test
    void generateFromTextMatchesRunCIdsAndText() throws Exception {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        try (var m = ModelLoader.load(bin, null)) {
            var tokenizer = m.tokenizer().orElseThrow(() -> new AssertionError("tok512.bin beside the model was not found"));
            Generator g = new Generator(TransformerModel.create(m.weights()), tokenizer);
            for (var c : RunCOracle.greedy("aidreams260K-greedy.txt")) {
                assertArrayEquals(c.promptIds(), g.promptIds(c.prompt()), "prompt ids of '" + c.prompt() + "'");
                StringBuilder streamed = new StringBuilder();
                Generator.Result r = g.generate(c.prompt(), 100, Sampler.greedy(), true, streamed::append);
                assertArrayEquals(c.generatedIds(), r.generatedIds(), "generated ids for '" + c.prompt() + "'");
                assertEquals(c.text(), r.text(), "text for '" + c.prompt() + "'");
                assertEquals(r.text(), streamed.toString(), "streamed text");
            }
        }
    }

    static void assertClose(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what + ": vocabulary size");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - got[i]);
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        assertTrue(worst <= TOL, what + ": max |Δlogit| = " + worst + " at id " + at + " (expected " + (at >= 0 ? expected[at] : 0) + ", got " + (at >= 0 ? got[at] : 0) + ")");
    }
}

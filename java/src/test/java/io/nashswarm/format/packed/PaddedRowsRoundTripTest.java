package io.nashswarm.format.packed;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nashswarm.cli.CliRun;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.model.Architecture;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.RopeStyle;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.ModelQuantizer;
import io.nashswarm.quant.ModelQuantizer.QuantizedModel;
import io.nashswarm.quant.QuantSettings;
import io.nashswarm.quant.Recipe;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A model whose FFN rows are not a multiple of 32 (hidden 100, like the tiny llama2.c models' 172):
 * packed types store ffn_down padded to 128, the file records both lengths, and the loaded model gives
 * the very logits of the quantized one; a wrong padding in the header is a clear error.
 */
class PaddedRowsRoundTripTest {
    static final ModelConfig HIDDEN_100 = new ModelConfig(Architecture.LLAMA, 64, 100, 2, 4, 2, 320, 32, 1e-5f, 10000f,
            RopeStyle.INTERLEAVED, true);

    @TempDir
    Path dir;

    @Test
    void paddedMatricesRoundTripAndAreCounted() throws IOException {
        ModelWeights src = TestModels.random(HIDDEN_100, 3);
        QuantSettings d = QuantSettings.defaults();
        QuantSettings s = new QuantSettings(d.group(), d.asymmetric(), d.split(), d.swarmRadius(), 5.0, d.embedType(), 0, d.fallback());
        for (Recipe recipe : new Recipe[] {Recipe.INT4, Recipe.TARGET_BPW}) {
            try (QuantizedModel q = ModelQuantizer.quantize(src, recipe, s, null, Progress.none())) {
                assertInstanceOf(PaddedMatrix.class, q.weights().matrix("blk.1.ffn_down.weight"), recipe.label());
                if (recipe == Recipe.TARGET_BPW) {
                    // Reachable now that no matrix falls back to f16; the padding is inside the budget.
                    assertTrue(q.report().bitsPerMatrixWeight() <= 5.0 + 1e-9, "" + q.report().bitsPerMatrixWeight());
                }
                Path file = dir.resolve(recipe.label() + ".nsq");
                PackedModelWriter.write(q.weights(), TestModels.tinyTokenizer(dir), PackedModelRoundTripTest.provenance(), file, Progress.none());
                int[] tokens = {1, 7, 42, 300, 5};
                TransformerModel a = TransformerModel.create(q.weights());
                float[] want = a.forward(a.newState(8), tokens, 0, tokens.length);
                try (LoadedModel m = ModelLoader.load(file, null)) {
                    PaddedMatrix down = assertInstanceOf(PaddedMatrix.class, m.weights().matrix("blk.1.ffn_down.weight"));
                    assertEquals(100, down.cols());
                    assertEquals(128, down.stored().cols());
                    PaddedMatrix orig = (PaddedMatrix) q.weights().matrix("blk.1.ffn_down.weight");
                    assertEquals(orig.stored().sections().keySet(), down.stored().sections().keySet());
                    orig.stored().sections().forEach((name, bytes) ->
                            assertEquals(-1, bytes.mismatch(down.stored().sections().get(name)), "section " + name + " bit-identical"));
                    // Same bits; the logits may differ in the last float bits with the JIT state (compiled and interpreted
                    // Vector API reductions add lanes in different orders), hence a tolerance.
                    TransformerModel b = TransformerModel.create(m.weights());
                    assertArrayEquals(want, b.forward(b.newState(8), tokens, 0, tokens.length), 1e-5f, recipe.label());
                }

                CliRun.Result inspect = CliRun.run("inspect", "-m", file.toString());
                assertEquals(0, inspect.code(), inspect.err());
                assertTrue(inspect.out().matches("(?s).*blk\\.1\\.ffn_down\\.weight .*\\[64, 100\\].*; rows padded to 128 with zero weights\n.*"),
                        inspect.out());

                byte[] good = Files.readAllBytes(file);
                Path bad = dir.resolve("bad.nsq");
                Files.write(bad, PackedFileErrorsTest.withHeader(good, root ->
                        PackedFileErrorsTest.tensor(root, "blk.1.ffn_down.weight").put("stored_cols", 160)));
                PackedFileErrorsTest.assertFormatError(bad, "tensor blk.1.ffn_down.weight: stored_cols 160 is not the padding of a packed"
                        + " matrix's rows of 100 (expected 128)", () -> ModelLoader.load(bad, null).close());
                Files.write(bad, PackedFileErrorsTest.withHeader(good, root ->
                        PackedFileErrorsTest.tensor(root, "blk.1.ffn_down.weight").remove("stored_cols")));
                PackedFileErrorsTest.assertFormatError(bad, "tensor blk.1.ffn_down.weight", () -> ModelLoader.load(bad, null).close());
                Files.write(bad, PackedFileErrorsTest.withHeader(good, root ->
                        PackedFileErrorsTest.tensor(root, "blk.1.ffn_gate.weight").put("stored_cols", 96)));
                PackedFileErrorsTest.assertFormatError(bad, "tensor blk.1.ffn_gate.weight: stored_cols 96 is not the padding",
                        () -> ModelLoader.load(bad, null).close());
            }
        }
    }

    @Test
    void ggmlTypesCannotBePaddedAndFallBack() {
        ModelWeights src = TestModels.random(HIDDEN_100, 4);
        try (QuantizedModel q = ModelQuantizer.quantize(src, Recipe.Q4_0, QuantSettings.defaults(), null, Progress.none())) {
            assertEquals(QuantType.F16, q.weights().matrix("blk.0.ffn_down.weight").type());
        }
    }
}

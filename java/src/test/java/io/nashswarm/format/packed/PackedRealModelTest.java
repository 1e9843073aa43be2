package io.nashswarm.format.packed;

import io.nashswarm.TestData;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.model.Generator;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.Sampler;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The real aidreams260K, quantized to int4 g32, written, loaded back: same logits, same generated text. */
class PackedRealModelTest {
    @TempDir
    Path dir;

    /**
     * int4 with groups of 32 where the row allows it. Packed kernels work in units of 32 weights and a
     * group must divide the row: aidreams' ffn_down rows have 172 = 4·43 inputs, which no multiple of 32
     * divides, so those matrices stay F32 (as llama.cpp keeps rows that fit no block in a float type).
     * Rows of 64 (every other matrix) take g32.
     */
    static WeightMatrix int4g32OrF32(WeightMatrix m) {
        if (m.cols() % 32 != 0) {
            return m;
        }
        return TestModels.rtn(m, QuantType.INT4, GroupSpec.symmetric(32));
    }

    @Test
    void aidreamsInt4G32RoundTripGeneratesTheSameText() throws Exception {
        Path src = TestData.require("models/aidreams260K/aidreams260K.bin");
        try (LoadedModel f32 = ModelLoader.load(src, null)) {
            ModelWeights q = TestModels.map(f32.weights(), (name, m) -> int4g32OrF32(m));
            assertEquals(QuantType.F32, q.matrix("blk.0.ffn_down.weight").type()); // 172 columns
            assertEquals(QuantType.INT4, q.matrix("blk.0.ffn_gate.weight").type());
            assertEquals(QuantType.INT4, q.matrix("token_embd.weight").type());
            assertSame(q.matrix("token_embd.weight"), q.matrix("output.weight")); // tied, quantized once

            Path file = dir.resolve("aidreams-int4.nsq");
            PackedModelWriter.write(q, f32.tokenizer().orElseThrow(),
                    new Provenance("int4-g32", Map.of("group", 32, "bits", 4, "ffn_down", "f32 (172 columns)"), src.toString(),
                            "n/a", null, "test"), file, Progress.none());
            System.out.printf("aidreams260K: F32 checkpoint %,d bytes -> int4 g32 packed %,d bytes (weights %,d bytes)%n",
                    Files.size(src), Files.size(file), q.storageBytes());
            try (LoadedModel packed = ModelLoader.load(file, null)) {
                assertEquals(q.storageBytes(), packed.weights().storageBytes());
                PackedModelRoundTripTest.assertSameLogits(q, packed.weights());
                String prompt = "Once upon a time";
                Generator.Result want = new Generator(TransformerModel.create(q), f32.tokenizer().orElseThrow())
                        .generate(prompt, 40, Sampler.greedy(), false, s -> {});
                Generator.Result got = new Generator(TransformerModel.create(packed.weights()), packed.tokenizer().orElseThrow())
                        .generate(prompt, 40, Sampler.greedy(), false, s -> {});
                assertArrayEquals(want.promptIds(), got.promptIds());
                assertArrayEquals(want.generatedIds(), got.generatedIds());
                assertEquals(want.text(), got.text());
                System.out.println("aidreams260K int4 g32 from the packed file: " + got.text());
                assertTrue(got.text().chars().filter(Character::isLetter).count() > 40, got.text());
            }
        }
    }
}

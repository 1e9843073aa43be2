package io.nashswarm.reference;

import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.format.gguf.GgufExporter;
import io.nashswarm.format.packed.PackedModelWriter;
import io.nashswarm.format.packed.Provenance;
import io.nashswarm.model.CpuBackend;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.util.Progress;
import io.nashswarm.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static io.nashswarm.format.safetensors.SafetensorsDtype.BF16;
import static io.nashswarm.format.safetensors.SafetensorsDtype.F16;
import static io.nashswarm.format.safetensors.SafetensorsDtype.F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The engine's logits against the independent float64 reference ({@link Gpt2Reference},
 * {@link LlamaReference}) on small random GPT-2 and LLaMA checkpoints with real tensor names and
 * layouts, written both as Hugging Face directories and as GGUF files the way llama.cpp converts
 * them. The GGUF LLaMA has its q/k rows permuted for interleaved RoPE and is compared with the same
 * Hugging Face (rotate-half) reference, so both RoPE conventions are checked against one truth.
 *
 * <p>Every position is compared, for prefill (one call), step-by-step decode through the KV cache,
 * prefill of 7 then decode, and two consecutive batches; the error is
 * {@code max_v |engine − ref| / max(1, max_v |ref|)} per position, at most {@value LogitsError#TOLERANCE}.
 */
class ReferenceLogitsTest {
    static final int SHORT = 17, LONG = 80, PREFILL = 7;

    static List<ModelSpec> specs() {
        return List.of(
                new Gpt2Spec("gpt2-f32", F32, 48, 4, 2, 100, 32, null, false, "transformer.", true, 11),
                new Gpt2Spec("gpt2-bf16-lm-head", BF16, 32, 4, 2, 96, 40, 80, true, "", false, 12),
                new Gpt2Spec("gpt2-f16", F16, 64, 4, 2, 100, 32, null, false, "transformer.", false, 13),
                // longer than TransformerModel.MAX_BATCH (64): prefill runs in two chunks
                new Gpt2Spec("gpt2-f32-long", F32, 32, 4, 2, 100, 96, null, false, "transformer.", false, 14),
                new LlamaSpec("llama-gqa2-f32", F32, 64, 172, 2, 8, 2, 100, 32, 10000, 1e-5, false, 21),
                new LlamaSpec("llama-gqa4-bf16-tied", BF16, 64, 96, 3, 8, 4, 100, 32, 500000, 1e-6, true, 22),
                // longer than TransformerModel.MAX_BATCH (64): prefill runs in two chunks
                new LlamaSpec("llama-mha-f32-long", F32, 64, 128, 2, 8, 8, 100, 96, 10000, 1e-5, false, 23),
                new LlamaSpec("llama-gqa2-f16", F16, 64, 112, 2, 8, 2, 100, 32, 500000, 1e-5, false, 24),
                SCALED_ROPE);
    }

    /**
     * Llama 3.1 RoPE scaling; head size 8 gives 4 frequency pairs, and an original context of 512 with
     * factors 1 and 4 puts one pair in each branch: kept (wavelength 6.3 < 128), interpolated (167), and
     * divided by the factor (4443 and 118000 > 512).
     */
    static final LlamaSpec SCALED_ROPE = new LlamaSpec("llama3-rope-scaled-bf16", BF16, 64, 96, 2, 8, 2, 100, 32, 500000, 1e-5, false, 25,
            new LlamaSpec.Llama3Rope(8, 1, 4, 512));

    /** The scaling is part of the config: kept by the engine's packed file and by GGUF export (rope_freqs.weight). */
    @Test
    void ropeScalingSurvivesThePackedFileAndGgufExport(@TempDir Path dir) {
        Checkpoint ckpt = Checkpoint.random(SCALED_ROPE);
        int[] tokens = new Random(6).ints(SHORT, 0, SCALED_ROPE.vocab()).toArray();
        double[][] ref = ckpt.referenceLogits(tokens);
        try (LoadedModel hf = ModelLoader.loadWeights(ckpt.write(Checkpoint.Format.HF, dir))) {
            ModelConfig c = hf.weights().config();
            assertEquals(4, c.ropeFreqFactors().size());
            Path packed = dir.resolve("scaled.nsq"), gguf = dir.resolve("scaled.gguf");
            PackedModelWriter.write(hf.weights(), null, new Provenance("f32", Map.of(), null, null, null, "test"), packed, Progress.none());
            GgufExporter.export(hf.weights(), null, gguf, GgufExporter.Options.keepTypes(), Progress.none());
            for (Path p : List.of(packed, gguf)) {
                try (LoadedModel m = ModelLoader.loadWeights(p)) {
                    assertEquals(c.ropeFreqFactors(), m.weights().config().ropeFreqFactors(), p.toString());
                    LogitsError e = LogitsError.of(EngineLogits.prefill(TransformerModel.create(m.weights()), tokens), ref);
                    assertTrue(e.within(), p + ": " + e);
                }
            }
        }
    }

    /** The scaled fixture is informative: ignoring the scaling would move its logits far beyond the tolerance. */
    @Test
    void ropeScalingChangesTheReference() {
        Checkpoint scaled = Checkpoint.random(SCALED_ROPE);
        LlamaSpec s = SCALED_ROPE;
        LlamaSpec plain = new LlamaSpec(s.name(), s.dtype(), s.hidden(), s.intermediate(), s.layers(), s.heads(), s.kvHeads(),
                s.vocab(), s.maxPositions(), s.ropeTheta(), s.eps(), s.tied(), s.seed());
        int[] tokens = new Random(5).ints(SHORT, 0, s.vocab()).toArray();
        double[][] a = scaled.referenceLogits(tokens);
        double[][] b = new LlamaReference(plain, scaled.tensors()).logits(tokens);
        double diff = 0;
        for (int t = 0; t < a.length; t++) {
            for (int v = 0; v < a[t].length; v++) {
                diff = Math.max(diff, Math.abs(a[t][v] - b[t][v]));
            }
        }
        assertTrue(diff > 100 * LogitsError.TOLERANCE, "scaled and unscaled references differ by only " + diff);
        double[] invFreq = {s.invFreq(0), s.invFreq(1), s.invFreq(2), s.invFreq(3)};
        double[] base = {plain.invFreq(0), plain.invFreq(1), plain.invFreq(2), plain.invFreq(3)};
        assertEquals(base[0], invFreq[0], 0, "short wavelength kept");
        assertTrue(invFreq[1] < base[1] && invFreq[1] > base[1] / 8, "medium wavelength interpolated");
        assertEquals(base[2] / 8, invFreq[2], 1e-18, "long wavelength divided by the factor");
    }

    static Stream<Arguments> cases() {
        return specs().stream().flatMap(s -> Stream.of(Checkpoint.Format.values()).map(f -> Arguments.of(s.name(), f, s)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void engineMatchesFloat64Reference(String name, Checkpoint.Format format, ModelSpec spec, @TempDir Path dir) {
        Checkpoint ckpt = Checkpoint.random(spec);
        int len = spec.contextLength() > 64 ? LONG : SHORT;
        int[] tokens = new Random(spec.name().hashCode()).ints(len, 0, spec.vocab()).toArray();
        double[][] ref = ckpt.referenceLogits(tokens);
        assertFixtureIsInformative(ref);

        try (LoadedModel m = ModelLoader.loadWeights(ckpt.write(format, dir))) {
            TransformerModel model = TransformerModel.create(m.weights());
            assertEquals(spec.vocab(), model.config().vocabSize());
            List<String> failures = new ArrayList<>();
            check(failures, "prefill", EngineLogits.prefill(model, tokens), ref);
            check(failures, "decode", EngineLogits.decode(model, tokens), ref);
            check(failures, "prefill " + PREFILL + " + decode", EngineLogits.prefillThenDecode(model, tokens, PREFILL), ref);
            int split = len == LONG ? 70 : 9;
            check(failures, "batches [0," + split + ") + [" + split + "," + len + ")", EngineLogits.twoBatches(model, tokens, split), ref);
            if (!failures.isEmpty()) {
                fail(name + " " + format + ":\n" + String.join("\n", failures));
            }
        }
    }

    /** The fixtures whose batches take CpuBackend's batch attention over two or more rows per head: GPT-2, GQA and MHA LLaMA. */
    static Stream<Arguments> halfKvSpecs() {
        return specs().stream().filter(s -> s.name().equals("gpt2-f32-long") || s.name().equals("llama-gqa2-f32") || s.name().equals("llama-mha-f32-long"))
                .map(s -> Arguments.of(s.name(), s));
    }

    /**
     * The CPU's f16 KV cache ({@link CpuBackend#HALF_KV}): a batch widens each KV head's halves once for all its rows,
     * decode reads them inside the kernels, so both see the same halves and agree within float rounding (the 1e-4 of the
     * f32 comparisons above); both stay within 1e-2 of float64, the keys' and values' rounding to f16 (2^-11 relative)
     * included.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("halfKvSpecs")
    void halfKvCacheBatchesAgreeWithDecode(String name, ModelSpec spec, @TempDir Path dir) {
        Checkpoint ckpt = Checkpoint.random(spec);
        int len = spec.contextLength() > 64 ? LONG : SHORT;
        int[] tokens = new Random(spec.name().hashCode() + 1).ints(len, 0, spec.vocab()).toArray();
        double[][] ref = ckpt.referenceLogits(tokens);
        try (LoadedModel m = ModelLoader.loadWeights(ckpt.write(Checkpoint.Format.HF, dir))) {
            TransformerModel model = TransformerModel.create(m.weights(), CpuBackend.HALF_KV);
            float[][] decode = EngineLogits.decode(model, tokens);
            double[][] decoded = new double[len][];
            for (int t = 0; t < len; t++) {
                decoded[t] = new double[decode[t].length];
                for (int v = 0; v < decode[t].length; v++) {
                    decoded[t][v] = decode[t][v];
                }
            }
            List<String> failures = new ArrayList<>();
            check(failures, "f16 cache: prefill against decode", EngineLogits.prefill(model, tokens), decoded);
            check(failures, "f16 cache: prefill " + PREFILL + " + decode against decode", EngineLogits.prefillThenDecode(model, tokens, PREFILL), decoded);
            int split = len == LONG ? 70 : 9;
            check(failures, "f16 cache: two batches against decode", EngineLogits.twoBatches(model, tokens, split), decoded);
            LogitsError e = LogitsError.of(decode, ref);
            if (e.worst() > 1e-2) {
                failures.add("f16 cache: decode against float64: " + e);
            }
            if (!failures.isEmpty()) {
                fail(name + ":\n" + String.join("\n", failures));
            }
        }
    }

    private static void check(List<String> failures, String mode, float[][] engine, double[][] ref) {
        LogitsError e = LogitsError.of(engine, ref);
        if (!e.within()) {
            failures.add(mode + ": " + e);
        }
    }

    /** Guards against a vacuous comparison: logits of a few units that change from position to position. */
    private static void assertFixtureIsInformative(double[][] ref) {
        double max = 0;
        for (double[] row : ref) {
            for (double v : row) {
                max = Math.max(max, Math.abs(v));
            }
        }
        assertTrue(max > 1 && max < 100, "reference logits should be of order 1-10, max |logit| = " + max);
        double change = 0;
        for (int t = 1; t < ref.length; t++) {
            for (int v = 0; v < ref[t].length; v++) {
                change = Math.max(change, Math.abs(ref[t][v] - ref[t - 1][v]));
            }
        }
        assertTrue(change > 0.1, "reference logits barely change between positions: " + change);
    }
}

package io.nashswarm.eval;

import io.nashswarm.TestData;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.model.TransformerModel;
import io.nashswarm.quant.RowSource;
import io.nashswarm.quant.RtnQuantizer;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.Matrices;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.WeightMatrix;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the integer-activation kernels cost in quality, on a real model: aidreams260K quantized to int4
 * and int2 (RTN, symmetric groups of 64), scored on WikiText-2 with the standard sliding window, once with
 * the packed matrices (their products quantize the input to 11–13-bit integers per 64 values) and once
 * with float32 copies of exactly the same dequantized weights (exact float products). The difference in
 * mean NLL is the activation rounding alone. (Measured: 1e-5 relative for both; the numbers are printed.
 * The model is tiny and trained on other text, so its WikiText perplexity is in the hundreds, and RTN
 * noise can even lower it: only the exact-versus-integer difference matters here.)
 *
 * <p>Tolerance: the rounding moves each input by at most half a step of 1/1023 (int4) or 1/4095 (int2)
 * of its chunk's largest value; a product moves by a few 10^-4 of its magnitude at most, the logits
 * alike, so the mean NLL (about 2–4 nats here) may move by a few 10^-4 relative; 2·10^-3 leaves a margin
 * for the errors compounding over 5 layers and is still far below the quantization's own effect (int4
 * RTN moves this model's NLL by percents).
 */
class IntegerActivationPerplexityTest {
    static final int TOKENS = 3000;

    @Test
    void activationRoundingBarelyMovesPerplexity() {
        Path bin = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path text = TestData.require("text/wikitext-2-raw/wiki.test.raw");
        try (LoadedModel m = ModelLoader.load(bin, null)) {
            Tokenizer tokenizer = m.tokenizer().orElseThrow(() -> new AssertionError("tok512.bin beside the model was not found"));
            int[] all = Perplexity.withBos(tokenizer, tokenizer.encode(TextFiles.readUtf8(text).substring(0, 40_000)));
            int[] ids = java.util.Arrays.copyOf(all, Math.min(TOKENS, all.length));
            int ctx = m.weights().config().contextLength(), stride = ctx / 2;
            double fp32 = nll(m.weights(), ids, ctx, stride);
            for (QuantType type : new QuantType[] {QuantType.INT4, QuantType.INT2}) {
                try (Arena arena = Arena.ofShared()) {
                    Map<String, WeightMatrix> packed = new LinkedHashMap<>(), exact = new LinkedHashMap<>();
                    int quantized = 0;
                    for (var e : m.weights().matrices().entrySet()) {
                        WeightMatrix w = e.getValue();
                        if (!e.getKey().equals("token_embd.weight") && w.cols() % 64 == 0) {
                            WeightMatrix q = RtnQuantizer.quantize(RowSource.of(w), type, GroupSpec.symmetric(64));
                            packed.put(e.getKey(), q);
                            exact.put(e.getKey(), dequantized(q, arena));
                            quantized++;
                        } else {
                            packed.put(e.getKey(), w);
                            exact.put(e.getKey(), w);
                        }
                    }
                    assertTrue(quantized >= 5, "quantized " + quantized + " matrices");
                    double integer = nll(weights(m.weights(), packed), ids, ctx, stride);
                    double reference = nll(weights(m.weights(), exact), ids, ctx, stride);
                    double rel = Math.abs(integer - reference) / reference;
                    System.out.printf("aidreams260K %s g64 sym, %d tokens ctx %d stride %d: mean NLL fp32 %.5f (PPL %.4f), "
                                    + "exact float %.5f (PPL %.4f), integer activations %.5f (PPL %.4f), relative NLL change %.2e%n",
                            type.label(), ids.length, ctx, stride, fp32, Math.exp(fp32), reference, Math.exp(reference),
                            integer, Math.exp(integer), rel);
                    assertTrue(rel <= 2e-3, type.label() + ": integer activations moved the mean NLL by " + rel + " relative");
                }
            }
        }
    }

    private static ModelWeights weights(ModelWeights base, Map<String, WeightMatrix> matrices) {
        return new ModelWeights(base.config(), matrices, base.vectors(), null, base.source());
    }

    private static double nll(ModelWeights w, int[] ids, int ctx, int stride) {
        return Perplexity.standard(TransformerModel.create(w), ids, ctx, stride, "wiki.test.raw", Progress.none()).meanNll();
    }

    /** A float32 matrix holding the dequantized weights of {@code q}: exact float products of the same weights. */
    private static WeightMatrix dequantized(WeightMatrix q, Arena arena) {
        MemorySegment data = arena.allocate(4L * q.rows() * q.cols(), 64);
        float[] row = new float[q.cols()];
        for (int r = 0; r < q.rows(); r++) {
            q.dequantizeRow(r, row, 0);
            MemorySegment.copy(row, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * r * q.cols(), q.cols());
        }
        return Matrices.of(QuantType.F32, data, q.rows(), q.cols(), Layout.OUT_IN);
    }
}

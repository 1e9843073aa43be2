package io.nashswarm.format.packed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.TestData;
import io.nashswarm.cli.CliRun;
import io.nashswarm.format.LoadedModel;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.model.ModelWeights;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tokenizer.Tokenizer;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** {@code inspect} on packed files and {@code export}, through the CLI as a user runs them. */
class PackedCliTest {
    @TempDir
    Path dir;

    private Path packedEveryType() {
        Path file = dir.resolve("every.nsq");
        PackedModelWriter.write(TestModels.everyRecipe(TestModels.random(TestModels.LLAMA, 21)), TestModels.tinyTokenizer(dir),
                PackedModelRoundTripTest.provenance(), file, Progress.none());
        return file;
    }

    private static long number(String text, String label) {
        Matcher m = Pattern.compile("\\n  " + Pattern.quote(label) + " +([0-9,]+)").matcher(text);
        assertTrue(m.find(), "no '" + label + "' in\n" + text);
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    @Test
    void inspectTextShowsSectionsBitsAndTotals() throws Exception {
        Path file = packedEveryType();
        CliRun.Result r = CliRun.run("inspect", "-m", file.toString());
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.contains("format:       nashswarm-packed"), out);
        assertTrue(out.contains("provenance.recipe"), out);
        // int4 g32 sym, 64x64: codes 2048 bytes (4 bits), scales 2·64·2 = 256 bytes (0.5 bits) -> 4.5 bits/weight
        assertTrue(out.matches("(?s).*\\n  blk\\.1\\.attn_q\\.weight +int4 +g32 sym +\\[64, 64] +2304 +4\\.5000 +codes 2048 \\(4\\.000\\), scales 256 \\(0\\.500\\)\\n.*"), out);
        assertTrue(out.matches("(?s).*\\n  blk\\.2\\.ffn_down\\.weight +mixed +g64 asym .*; groups 2/4/8-bit \\d+/\\d+/\\d+, outliers \\d+\\n.*"), out);
        PackedHeader h = PackedHeader.read(file);
        assertEquals(Files.size(file), number(out, "file bytes:"));
        assertEquals(h.headerBytes(), number(out, "header bytes:"));
        long matrixBytes = h.tensors().stream().filter(TensorRecord::matrix).mapToLong(TensorRecord::bytes).sum();
        assertEquals(matrixBytes, number(out, "matrix bytes:"));
        assertEquals(Files.size(file) - 16 - h.headerBytes() - h.sectionBytes(), number(out, "padding bytes:"));
        assertTrue(out.contains("mixed groups:"), out);
    }

    @Test
    void inspectJsonAddsUpToTheFile() throws Exception {
        Path file = packedEveryType();
        CliRun.Result r = CliRun.run("inspect", "-m", file.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        long matrixBytes = 0, weights = 0, all = 0;
        for (JsonNode t : j.get("tensors")) {
            long bytes = t.get("bytes").asLong(), sections = 0;
            long elements = 1;
            for (JsonNode d : t.get("shape")) {
                elements *= d.asLong();
            }
            for (JsonNode s : t.get("sections")) {
                sections += s.get("bytes").asLong();
                assertEquals(8.0 * s.get("bytes").asLong() / elements, s.get("bits_per_weight").asDouble(), 1e-12);
            }
            assertEquals(bytes, sections, t.get("name").asText());
            assertEquals(8.0 * bytes / elements, t.get("bits_per_weight").asDouble(), 1e-12);
            if (t.get("shape").size() == 2) {
                matrixBytes += bytes;
                weights += elements;
            }
            all += bytes;
            if (t.get("type").asText().equals("mixed")) {
                JsonNode mix = t.get("mix");
                long groups = mix.get("groups_2bit").asLong() + mix.get("groups_4bit").asLong() + mix.get("groups_8bit").asLong();
                assertEquals(elements / t.get("group").get("size").asLong(), groups, t.get("name").asText());
            }
        }
        JsonNode p = j.get("packed");
        assertEquals(matrixBytes, p.get("matrix_bytes").asLong());
        assertEquals(weights, p.get("matrix_weights").asLong());
        assertEquals(Files.size(file), p.get("file_bytes").asLong());
        assertEquals(Files.size(file), 16 + p.get("header_bytes").asLong() + p.get("padding_bytes").asLong() + all);
        assertEquals(8.0 * Files.size(file) / weights, p.get("file_bits_per_weight").asDouble(), 1e-12);
        assertEquals("every-type", j.get("metadata").get("provenance.recipe").asText());
    }

    @Test
    void exportAFloatPackedFileToQ8_0AndInspectIt() throws Exception {
        Path nsq = dir.resolve("f32.nsq");
        Tokenizer tok = TestModels.tinyTokenizer(dir);
        ModelWeights f32 = TestModels.random(TestModels.LLAMA, 22);
        PackedModelWriter.write(f32, tok, PackedModelRoundTripTest.provenance(), nsq, Progress.none());
        Path gguf = dir.resolve("out.gguf");
        CliRun.Result r = CliRun.run("export", "-m", nsq.toString(), "-o", gguf.toString(), "--type", "q8_0");
        assertEquals(0, r.code(), r.err());
        assertEquals("wrote " + gguf + ": 30 tensors (7 f32, 23 q8_0), " + String.format("%,d", tensorBytes(f32))
                + " bytes of tensors, " + String.format("%,d", Files.size(gguf)) + " bytes in all; tokenizer: llama, 300 tokens (padded to 320)\n",
                r.out());
        assertTrue(r.err().contains("export"), "progress on stderr: " + r.err());
        try (LoadedModel m = ModelLoader.load(gguf, null)) {
            assertEquals(QuantType.Q8_0, m.weights().matrix("blk.0.attn_q.weight").type());
            assertEquals(320, m.tokenizer().orElseThrow().vocabSize());
            String text = "the cat and the dog";
            assertArrayEquals(tok.encode(text), m.tokenizer().orElseThrow().encode(text));
        }
        CliRun.Result i = CliRun.run("inspect", "-m", gguf.toString());
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().contains("general.file_type"), i.out());
    }

    /** q8_0 bytes of every matrix plus f32 norms, computed from the shapes by hand. */
    private static long tensorBytes(ModelWeights w) {
        long n = 0;
        for (var m : w.distinctMatrices()) {
            n += (long) m.rows() * m.cols() / 32 * 34;
        }
        for (float[] v : w.vectors().values()) {
            n += 4L * v.length;
        }
        return n;
    }

    @Test
    void exportRefusesPackedTypesAndUnknownTypes() {
        Path file = packedEveryType();
        CliRun.Result r = CliRun.run("export", "-m", file.toString(), "-o", dir.resolve("x.gguf").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: tensor blk.0.ffn_gate.weight is int8 g32 sym, which GGUF has no type for; export the unquantized model with --type q4_0 or --type q8_0"), r.err());
        assertFalse(Files.exists(dir.resolve("x.gguf")));
        r = CliRun.run("export", "-m", file.toString(), "-o", dir.resolve("x.gguf").toString(), "--type", "q7_k");
        assertEquals(1, r.code());
        assertEquals("error: unknown type 'q7_k': choose one of f32, f16, bf16, q8_0, q4_0\n", r.err());
        // llama.cpp's K-quants are read, not written, by the engine.
        r = CliRun.run("export", "-m", file.toString(), "-o", dir.resolve("x.gguf").toString(), "--type", "q5_k");
        assertEquals(1, r.code());
        assertEquals("error: cannot export to q5_k: choose one of f32, f16, bf16, q8_0, q4_0\n", r.err());
    }

    @Test
    void exportTheRealAidreamsModel() throws Exception {
        Path src = TestData.require("models/aidreams260K/aidreams260K.bin");
        Path gguf = dir.resolve("aidreams-q4_0.gguf");
        CliRun.Result r = CliRun.run("export", "-m", src.toString(), "-o", gguf.toString(), "--type", "q4_0");
        assertEquals(0, r.code(), r.err());
        System.out.print(r.out());
        assertTrue(r.out().contains("note: token_embd.weight (the LM head) written as q8_0"), r.out());
        assertTrue(r.out().contains("note: blk.3.ffn_down.weight kept as f32: its rows of 172 weights fit no q4_0 block of 32"), r.out());
        assertTrue(r.out().contains("tokenizer: llama, 512 tokens"), r.out());
        CliRun.Result g = CliRun.run("generate", "-m", gguf.toString(), "-p", "Once upon a time", "-n", "20", "--temperature", "0");
        assertEquals(0, g.code(), g.err());
        assertTrue(g.out().startsWith("Once upon a time"), g.out());
    }
}

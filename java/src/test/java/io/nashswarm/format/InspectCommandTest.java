package io.nashswarm.format;

import io.nashswarm.cli.CliRun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.TestData;
import io.nashswarm.cli.Main;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** {@code nashswarm inspect} through {@link Main#run}, with stdout and stderr captured. */
class InspectCommandTest {
    @TempDir
    Path dir;

    static CliRun.Result run(String... args) {
        return CliRun.run(args);
    }

    @Test
    void textReportListsConfigAndEveryTensor() throws Exception {
        Path model = dir.resolve("m.bin");
        Llama2cLoaderTest.write(model, 8, 12, 2, 2, 1, 5, 4, false, 3);
        CliRun.Result r = run("inspect", "-m", model.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("format:       llama2.c"), r.out());
        assertTrue(r.out().contains("architecture: llama"), r.out());
        assertTrue(r.out().matches("(?s).*\\n  nKvHeads +1\\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*\\n  blk\\.1\\.attn_k\\.weight +wk\\[1] +f32 +\\[4, 8] +128 +32\\.0000\\n.*"), r.out());
        assertTrue(r.out().matches("(?s).*\\n  output\\.weight +wcls +f32 +\\[5, 8] +160 +32\\.0000\\n.*"), r.out());
        assertTrue(r.out().contains("file bytes:   " + Files.size(model) + " in 1 file(s)"), r.out());
        assertTrue(r.out().matches("(?s).*\\nmatrices: +[0-9,]+ weights in [0-9,]+ bytes = 32\\.0000 bits/weight\\n.*"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void jsonReportIsOneDocument() throws Exception {
        Path hf = dir.resolve("gpt2");
        Files.createDirectory(hf);
        HfCheckpoints.writeGpt2(hf, new Random(1), SafetensorsDtype.BF16, "transformer.", false);
        CliRun.Result r = run("inspect", "-m", hf.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("huggingface", j.get("format").asText());
        assertEquals("gpt2", j.get("architecture").asText());
        assertEquals(HfCheckpoints.G_DIM, j.get("config").get("dim").asInt());
        assertEquals(HfCheckpoints.G_HIDDEN, j.get("config").get("hiddenDim").asInt());
        assertTrue(j.get("config").get("tiedEmbeddings").asBoolean());
        JsonNode tensors = j.get("tensors");
        assertEquals(4 + 12 * HfCheckpoints.G_LAYERS, tensors.size());
        long sum = 0;
        JsonNode qkv = null;
        for (JsonNode t : tensors) {
            sum += t.get("bytes").asLong();
            if (t.get("name").asText().equals("blk.0.attn_qkv.weight")) {
                qkv = t;
            }
        }
        assertNotNull(qkv);
        assertEquals("transformer.h.0.attn.c_attn.weight", qkv.get("source").asText());
        assertEquals("bf16", qkv.get("type").asText());
        assertEquals("[24,8]", qkv.get("shape").toString());
        assertEquals(2L * 24 * 8, qkv.get("bytes").asLong());
        assertEquals("[in][out]", qkv.get("stored").asText());
        assertEquals(sum, j.get("tensor_bytes").asLong());
        assertEquals(Files.size(hf.resolve("config.json")) + Files.size(hf.resolve("model.safetensors")), j.get("file_bytes").asLong());
    }

    @Test
    void loadErrorsPrintTheFileAndTheProblem() {
        Path junk = dir.resolve("junk.bin");
        Fixtures.writeBytes(junk, "this is not a model at all, just text".getBytes(StandardCharsets.UTF_8));
        CliRun.Result r = run("inspect", "-m", junk.toString());
        assertEquals(1, r.code());
        assertEquals("error: " + junk + ": not a recognised model (expected a Hugging Face directory, a GGUF file, a llama2.c checkpoint or a packed .nsq file)",
                r.err().strip());
        assertEquals("", r.out());

        Path gguf = dir.resolve("t.gguf");
        Fixtures.writeBytes(gguf, new GgufBytes().header(3, 1, 0).tensor("blk.0.attn_q.weight", 16, 0, 256, 1).padTo(32).raw(new byte[160]).bytes());
        CliRun.Result q = run("inspect", "-m", gguf.toString(), "--json");
        assertEquals(1, q.code());
        assertEquals("error: " + gguf + ": unsupported type IQ2_XXS in tensor blk.0.attn_q.weight", q.err().strip());
    }

    @Test
    void realModelJson() throws Exception {
        Path model = TestData.require("models/aidreams260K/aidreams260K.bin");
        CliRun.Result r = run("inspect", "--model", model.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(512, j.get("config").get("vocabSize").asInt());
        assertEquals(128, j.get("config").get("contextLength").asInt());
        assertEquals(932124, j.get("file_bytes").asLong());
        // every float except the header and the two RoPE tables (2 × 128 × 8) is a weight
        assertEquals(932124 - 28 - 4L * 2 * 128 * 8, j.get("tensor_bytes").asLong());
    }
}

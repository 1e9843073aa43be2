package io.nashswarm.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.cli.CliRun;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code compare} end to end on a tiny synthetic model (no tokenizer, so it evaluates on text sampled from itself). */
class CompareCommandTest {
    @TempDir
    Path dir;

    @Test
    void everyRowIsQuantizedWrittenMappedAndMeasured() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 3, model);
        Path out = dir.resolve("out");
        CliRun.Result r = CliRun.run("compare", "-m", model.toString(), "--methods", "fp32,int8@g64,int4@g64,nash-swarm,target-bpw@1.0",
                "--sample-docs", "10", "--decode-tokens", "4", "--out", out.toString(), "--keep-files");
        assertEquals(0, r.code(), r.err());
        for (String f : new String[] {"compare.md", "compare.json", "ppl-vs-bpw.png", "ppl-vs-bpw.svg", "kld-vs-bpw.png", "kld-vs-bpw.svg"}) {
            assertTrue(Files.size(out.resolve(f)) > 100, f + " written");
        }
        JsonNode rows = new ObjectMapper().readTree(out.resolve("compare.json").toFile()).get("rows");
        assertEquals(5, rows.size());
        JsonNode fp32 = rows.get(0), int8 = rows.get(1), int4 = rows.get(2), nash = rows.get(3), impossible = rows.get(4);
        assertEquals(32.0, fp32.get("bits_per_weight").asDouble(), 1e-9);
        // Not exactly 0: two passes of the same model may round differently (interpreted vs JIT-compiled
        // vector reductions), at the 1e-8 level here; a real difference is orders of magnitude larger.
        assertEquals(0.0, fp32.get("kld_vs_fp32").asDouble(), 1e-6, "the source against itself");
        assertEquals(1.0, fp32.get("top1_agreement").asDouble(), 1e-12);
        assertTrue(int8.get("bits_per_weight").asDouble() > int4.get("bits_per_weight").asDouble());
        assertTrue(int4.get("bits_per_weight").asDouble() > 4.25, "int4 g64 with int8 embeddings costs more than 4.25");
        assertTrue(int8.get("kld_vs_fp32").asDouble() < int4.get("kld_vs_fp32").asDouble(), "fewer bits, further from FP32");
        assertTrue(int8.get("kld_vs_fp32").asDouble() > 0);
        // The packed file is what was measured: its size on disk is the reported file bytes.
        Path int4File = out.resolve("int4-g64.nsq");
        assertEquals(Files.size(int4File), int4.get("file_bytes").asLong());
        assertTrue(int4.get("file_bytes").asLong() < fp32.get("file_bytes").asLong() / 4);
        assertTrue(nash.get("bits_per_weight").asDouble() < int4.get("bits_per_weight").asDouble());
        assertTrue(impossible.has("failure"), "an unreachable bits/weight target is reported, not fatal");
        assertTrue(impossible.get("failure").asText().contains("not achievable"));
        String md = Files.readString(out.resolve("compare.md"));
        assertTrue(md.contains("| int4-g64 |") && md.contains("not measured"), md);
        assertTrue(r.out().contains("| fp32 (source) |"), "the table is printed too");
    }

    @Test
    void unknownMethodFailsBeforeAnyWork() throws Exception {
        Path model = dir.resolve("tiny.gguf");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 3, model);
        CliRun.Result r = CliRun.run("compare", "-m", model.toString(), "--methods", "fp32,int5");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown recipe 'int5'"), r.err());
    }

    /**
     * A GGUF of the same model quantized elsewhere (here the engine's own q8_0 export; llama.cpp's K-quant mixes
     * go the same way) is a row measured as it is, at its real size.
     */
    @Test
    void aGgufFileIsARowMeasuredAsItIs() throws Exception {
        Path model = dir.resolve("tiny.gguf"), q8 = dir.resolve("tiny-q8_0.gguf");
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.F32, 3, model);
        SyntheticCheckpoint.write(SyntheticCheckpoint.Shape.TINY_LLAMA, QuantType.Q8_0, 3, q8);
        Path out = dir.resolve("out");
        CliRun.Result r = CliRun.run("compare", "-m", model.toString(), "--methods", "fp32,gguf=" + q8,
                "--sample-docs", "10", "--decode-tokens", "4", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode row = new ObjectMapper().readTree(out.resolve("compare.json").toFile()).get("rows").get(1);
        assertEquals("gguf", row.get("recipe").asText());
        assertEquals("gguf tiny-q8_0.gguf", row.get("method").asText());
        assertEquals(Files.size(q8), row.get("file_bytes").asLong());
        double bpw = row.get("bits_per_weight").asDouble(), kld = row.get("kld_vs_fp32").asDouble();
        assertTrue(bpw > 8 && bpw < 10, "q8_0 blocks cost 8.5 bits/weight: " + bpw);
        assertTrue(kld > 0 && kld < 1e-2, "q8_0 is close to the source, not equal: " + kld);

        CliRun.Result missing = CliRun.run("compare", "-m", model.toString(), "--methods", "fp32,gguf=" + dir.resolve("none.gguf"));
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());
    }
}

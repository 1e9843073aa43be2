package io.nashswarm.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.cli.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code bench} on synthetic checkpoints: stored types and quantization methods, each measured in a child JVM. */
class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void syntheticRowsAreMeasured() throws Exception {
        CliRun.Result r = CliRun.run("bench", "--synthetic", "tiny-llama", "--type", "f32,q4_0,int4", "-n", "4", "--prompt-tokens", "4",
                "--repeats", "1", "--no-bandwidth", "--json", "--dir", dir.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode rows = new ObjectMapper().readTree(r.out()).get("results");
        assertEquals(3, rows.size());
        assertEquals(32.0, rows.get(0).get("bits_per_weight").asDouble(), 1e-9);
        assertEquals(4.5, rows.get(1).get("bits_per_weight").asDouble(), 1e-9, "q4_0 is 4.5 bits/weight");
        double int4 = rows.get(2).get("bits_per_weight").asDouble();
        assertTrue(int4 > 4.25 && int4 < 8.5, "int4 g64 body with int8 embeddings: " + int4);
        for (JsonNode row : rows) {
            assertTrue(row.get("decode_tokens_per_second").asDouble() > 0);
            int warmup = row.get("warmup_rounds").asInt();
            assertTrue(warmup >= 2 && warmup <= 30, "untimed rounds until the JIT is quiet, 2 to 30: " + warmup);
            assertTrue(row.get("file_bytes").asLong() > 0);
            // the decode step's jobs and inputs allocate something; a broken counter reads 0 or -1
            assertTrue(row.get("decode_allocated_bytes_per_token").asLong() > 0, "allocation per decoded token measured: " + row);
            if (Files.isReadable(Path.of("/proc/self/smaps_rollup"))) {
                assertTrue(row.get("rss_bytes").asLong() > 0, "RSS measured");
                assertTrue(row.get("model_resident_bytes").asLong() > 0, "the mapped model is resident");
            }
        }
        assertTrue(rows.get(2).get("file_bytes").asLong() < rows.get(0).get("file_bytes").asLong() / 4);
        try (var left = Files.list(dir)) {
            assertEquals(0, left.count(), "synthetic checkpoints are deleted without --keep");
        }
    }

    /** {@code -m A --against B}: both models in one JVM, a row each and the ratio of their decode speeds per round. */
    @Test
    void againstPairsTwoModelsInOneRun() throws Exception {
        SyntheticCheckpoint.Shape shape = SyntheticCheckpoint.Shape.parse("tiny-llama");
        Path f32 = dir.resolve("f32.gguf"), q4 = dir.resolve("q4_0.gguf");
        SyntheticCheckpoint.write(shape, io.nashswarm.tensor.QuantType.F32, 42, f32);
        SyntheticCheckpoint.write(shape, io.nashswarm.tensor.QuantType.Q4_0, 42, q4);
        CliRun.Result r = CliRun.run("bench", "-m", f32.toString(), "--against", q4.toString(), "-n", "4", "--prompt-tokens", "4",
                "--repeats", "3", "--no-bandwidth", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode doc = new ObjectMapper().readTree(r.out()), rows = doc.get("results"), ratios = doc.get("against_decode_ratios");
        assertEquals(2, rows.size());
        assertEquals(f32.toString(), rows.get(0).get("model").asText());
        assertEquals(4.5, rows.get(1).get("bits_per_weight").asDouble(), 1e-9, "the second row is the --against model");
        assertEquals(3, ratios.size(), "a ratio per timed round");
        double lo = Double.MAX_VALUE, hi = 0;
        for (JsonNode x : ratios) {
            assertTrue(x.asDouble() > 0 && Double.isFinite(x.asDouble()), "ratio " + x);
            lo = Math.min(lo, x.asDouble());
            hi = Math.max(hi, x.asDouble());
        }
        double median = doc.get("against_decode_ratio_median").asDouble();
        assertTrue(median >= lo && median <= hi, median + " within " + lo + ".." + hi);
        for (JsonNode row : rows) {
            assertTrue(row.get("decode_tokens_per_second").asDouble() > 0);
        }

        CliRun.Result alone = CliRun.run("bench", "--against", q4.toString(), "--no-bandwidth");
        assertNotEquals(0, alone.code());
        assertTrue(alone.err().contains("--against FILE pairs a second model with -m MODEL"), alone.err());
    }
}

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
}

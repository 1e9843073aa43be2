package io.nashswarm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code bench}'s child JVMs: their JSON summary is found after whatever inherited JVM options print first. */
class BenchChildOutputTest {
    private static final String SUMMARY = "{\n  \"results\" : [ {\n    \"model\" : \"x\"\n  } ]\n}\n";

    @Test
    void jsonAfterJfrStartupLinesIsFound() throws Exception {
        String out = "[0.452s][info][jfr,startup] Started recording 1. No limit specified, using maxsize=250MB as default.\n"
                + "[0.452s][info][jfr,startup] Use jcmd 13574 JFR.dump name=1 to copy recording data to file.\n" + SUMMARY;
        String json = BenchCommand.jsonPart(out, Path.of("m.gguf"));
        assertEquals("x", new ObjectMapper().readTree(json).get("results").get(0).get("model").asText());
        assertEquals(SUMMARY, BenchCommand.jsonPart(SUMMARY, Path.of("m.gguf")));
    }

    @Test
    void noJsonIsAClearError() {
        EngineException e = assertThrows(EngineException.class, () -> BenchCommand.jsonPart("Error: something\n", Path.of("m.gguf")));
        assertTrue(e.getMessage().contains("m.gguf") && e.getMessage().contains("no JSON summary") && e.getMessage().contains("Error: something"),
                e.getMessage());
    }
}

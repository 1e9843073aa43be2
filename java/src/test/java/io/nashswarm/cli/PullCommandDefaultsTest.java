package io.nashswarm.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PullCommandDefaultsTest {
    @Test
    void theDefaultFolderIsNamedAfterOwnerAndRepository() {
        assertEquals(Path.of("models", "TinyLlama__TinyLlama-1.1B-Chat-v1.0"),
                PullCommand.defaultDir("TinyLlama/TinyLlama-1.1B-Chat-v1.0"));
        assertEquals(Path.of("models", "gpt2"), PullCommand.defaultDir("gpt2"));
    }
}

package io.nashswarm;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the real data in {@code ../shared/data}; tests that need it skip with a message when it is absent. */
public final class TestData {
    private TestData() {}

    public static Path root() {
        String p = System.getProperty("nashswarm.data", "../shared/data");
        return Path.of(p).toAbsolutePath().normalize();
    }

    /** The file or directory under the data root, or skips the calling test with a clear message. */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        Assumptions.assumeTrue(Files.exists(p),
                "skipped: real data " + p + " is not present (see ../shared/data/README.md)");
        return p;
    }
}

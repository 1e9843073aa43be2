package io.nashswarm.cuda;

import io.nashswarm.EngineException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and loads the native libraries that {@code scripts/build-native} (CMake) writes to
 * {@code native/target}: {@code libnashswarm_cuda.so} (the GPU) and {@code libnashswarm_host.so} (the
 * same ABI on the host, for tests). Looked for in the system property {@code nashswarm.native.dir}, the
 * environment variable {@code NASHSWARM_NATIVE_DIR}, then {@code native/target} and {@code ../native/target}.
 */
public final class NativeLibrary {
    public enum Kind {
        CUDA("libnashswarm_cuda.so"), HOST("libnashswarm_host.so");

        final String file;

        Kind(String file) {
            this.file = file;
        }
    }

    private NativeLibrary() {}

    static List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>();
        String p = System.getProperty("nashswarm.native.dir");
        if (p != null && !p.isBlank()) {
            dirs.add(Path.of(p));
        }
        String e = System.getenv("NASHSWARM_NATIVE_DIR");
        if (e != null && !e.isBlank()) {
            dirs.add(Path.of(e));
        }
        dirs.add(Path.of("native", "target"));
        dirs.add(Path.of("..", "native", "target"));
        return dirs;
    }

    /** The library's file, or an EngineException saying where it was looked for and how to build it. */
    public static Path locate(Kind kind) {
        for (Path d : searchDirs()) {
            Path f = d.resolve(kind.file).toAbsolutePath().normalize();
            if (Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new EngineException(kind.file + " not found (looked in " + searchDirs()
                + "); build it with scripts/build-native, or point -Dnashswarm.native.dir at it");
    }

    /** Loads the library: one clear EngineException when it is missing or does not load (never a JVM crash). */
    public static NashswarmH load(Kind kind) {
        Path f = locate(kind);
        try {
            return new NashswarmH(f);
        } catch (IllegalArgumentException | UnsatisfiedLinkError ex) {
            throw new EngineException("cannot load " + f + ": " + ex.getMessage());
        }
    }
}

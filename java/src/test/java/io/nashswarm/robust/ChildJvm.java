package io.nashswarm.robust;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts the CLI ({@code io.nashswarm.cli.Main}) in a child JVM with the engine's flags and this test run's class path. */
final class ChildJvm {
    private ChildJvm() {}

    static ProcessBuilder cli(Path workDir, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-XX:ErrorFile=" + workDir.resolve("hs_err_%p.log"), "-cp", System.getProperty("java.class.path"), "io.nashswarm.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(workDir.toFile());
    }

    static String text(Process p, boolean stderr) throws IOException {
        return new String((stderr ? p.getErrorStream() : p.getInputStream()).readAllBytes());
    }
}

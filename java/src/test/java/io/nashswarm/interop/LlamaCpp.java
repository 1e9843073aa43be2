package io.nashswarm.interop;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real llama.cpp, through the driver {@code scripts/install-llama-cpp} builds ({@code .llama-cpp/oracle},
 * source {@code scripts/llama-cpp/oracle.c}). When it is not installed, the calling test fails in CI
 * ({@code CI=true}) and is skipped elsewhere, with the reason either way.
 */
final class LlamaCpp {
    private LlamaCpp() {}

    /** llama.cpp runs on one thread in the tests: ggml's spinning thread barrier stalls on a loaded 2-core box. */
    static final int THREADS = 1;

    static Path root() {
        Path here = Path.of("").toAbsolutePath();
        return Files.exists(here.resolve("scripts/install-llama-cpp")) ? here : here.getParent();
    }

    /** The driver, or the test fails (CI) or is skipped (a developer machine without it). */
    static Path oracle() {
        Path oracle = Path.of(System.getProperty("nashswarm.llamacpp", root().resolve(".llama-cpp/oracle").toString()));
        if (!Files.isExecutable(oracle)) {
            String log = "";
            Path install = root().resolve("java/target/llama-cpp-install.log");
            Path ciLog = root().resolve("target/llama-cpp-install.log");
            for (Path p : List.of(install, ciLog)) {
                try {
                    if (Files.exists(p)) {
                        log = " Install log: " + Files.readString(p).strip();
                    }
                } catch (IOException ignored) {
                    // the message below is enough
                }
            }
            String message = "llama.cpp is not installed at " + oracle + ": run scripts/install-llama-cpp (needs npm and the npm registry)." + log;
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(message);
            }
            Assumptions.abort("skipped: " + message);
        }
        return oracle;
    }

    /** Greedy tokens after the prompt, llama.cpp's next-token logits at each of the first {@code nLogits} steps, and timings. */
    record Run(int[] tokens, float[][] logits, double promptMs, double decodeMs) {}

    static Run decode(Path model, int[] prompt, int n, int nLogits) {
        List<String> cmd = new ArrayList<>(List.of(oracle().toString(), "decode", model.toString(), "" + n, "" + THREADS, "" + nLogits));
        Arrays.stream(prompt).forEach(id -> cmd.add("" + id));
        List<String> lines = run(cmd);
        float[][] logits = new float[nLogits][];
        int[] tokens = null;
        double promptMs = Double.NaN, decodeMs = Double.NaN;
        for (String line : lines) {
            String[] f = line.trim().split(" ");
            switch (f[0]) {
                case "logits" -> {
                    float[] v = new float[f.length - 2];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = Float.parseFloat(f[i + 2]);
                    }
                    logits[Integer.parseInt(f[1])] = v;
                }
                case "tokens" -> tokens = Arrays.stream(f).skip(1).mapToInt(Integer::parseInt).toArray();
                case "timing" -> {
                    promptMs = Double.parseDouble(f[2]);
                    decodeMs = Double.parseDouble(f[4]);
                }
                default -> { }
            }
        }
        Assertions.assertNotNull(tokens, "llama.cpp printed no tokens for " + model + ": " + lines);
        return new Run(tokens, logits, promptMs, decodeMs);
    }

    /** llama.cpp's llama_model_quantize with a {@code llama_ftype} number (e.g. 15 = Q4_K_M). */
    static void quantize(Path in, Path out, int ftype) {
        run(List.of(oracle().toString(), "quantize", in.toString(), out.toString(), "" + ftype, "" + THREADS));
    }

    /** ggml's own dequantization (its type traits' to_float) of whole blocks of ggml type {@code ggmlId}. */
    static float[] dequantize(int ggmlId, byte[] blocks) {
        try {
            Path in = Files.createTempFile("ggml-blocks", ".bin"), out = Files.createTempFile("ggml-floats", ".f32");
            try {
                Files.write(in, blocks);
                run(List.of(oracle().toString(), "dequantize", "" + ggmlId, in.toString(), out.toString()));
                java.nio.FloatBuffer f = java.nio.ByteBuffer.wrap(Files.readAllBytes(out)).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                float[] y = new float[f.remaining()];
                f.get(y);
                return y;
            } finally {
                Files.deleteIfExists(in);
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> run(List<String> cmd) {
        try {
            Path err = Files.createTempFile("llama-cpp", ".err");
            try {
                Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    Assertions.fail("llama.cpp did not finish in 120 s: " + cmd);
                }
                if (p.exitValue() != 0) {
                    Assertions.fail("llama.cpp failed (exit " + p.exitValue() + "): " + String.join(" ", cmd.subList(0, Math.min(cmd.size(), 6)))
                            + "\n" + Files.readString(err).strip());
                }
                return out.lines().toList();
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run llama.cpp: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}

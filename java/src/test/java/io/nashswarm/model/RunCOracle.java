package io.nashswarm.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Outputs of llama2.c's reference {@code run.c}, recorded once from the real models and kept in
 * src/test/resources/oracle (only the numbers, never run.c's code).
 */
public final class RunCOracle {
    private RunCOracle() {}

    public record Logits(int[] ids, float[][] logits) {}

    public record Greedy(String prompt, int[] promptIds, int[] generatedIds, String text) {}

    public static Logits logits(String resource) throws IOException {
        int[] ids = null;
        List<float[]> rows = new ArrayList<>();
        for (String line : lines(resource)) {
            if (line.startsWith("IDS ")) {
                ids = ints(line.substring(4));
            } else if (line.startsWith("POS ")) {
                String[] parts = line.split(" ");
                float[] row = new float[parts.length - 2];
                for (int i = 0; i < row.length; i++) {
                    row[i] = Float.parseFloat(parts[i + 2]);
                }
                rows.add(row);
            }
        }
        return new Logits(ids, rows.toArray(float[][]::new));
    }

    public static List<Greedy> greedy(String resource) throws IOException {
        List<Greedy> out = new ArrayList<>();
        String prompt = null;
        int[] promptIds = null, gen = null;
        for (String line : lines(resource)) {
            if (line.startsWith("PROMPT ")) {
                prompt = line.substring(7);
            } else if (line.startsWith("PROMPT_IDS ")) {
                promptIds = ints(line.substring(11));
            } else if (line.startsWith("GEN_IDS ")) {
                gen = ints(line.substring(8));
            } else if (line.startsWith("TEXT_HEX ")) {
                String text = new String(HexFormat.of().parseHex(line.substring(9).trim()), StandardCharsets.UTF_8);
                out.add(new Greedy(prompt, promptIds, gen, text));
            }
        }
        return out;
    }

    private static List<String> lines(String resource) throws IOException {
        try (InputStream in = RunCOracle.class.getResourceAsStream("/oracle/" + resource)) {
            if (in == null) {
                throw new IOException("missing test resource /oracle/" + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("#")).toList();
        }
    }

    private static int[] ints(String s) {
        return Arrays.stream(s.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
    }
}

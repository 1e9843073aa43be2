package io.nashswarm.tokenizer;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nashswarm.format.FormatException;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Reads the JSON files of tokenizers: strictly UTF-8, with errors that name the file and the place. */
final class JsonFiles {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonFiles() {}

    static JsonNode parse(Path path, byte[] data) {
        String text = utf8Text(path, data);
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null || node.isMissingNode()) {
                throw new FormatException(path, "file has no JSON value");
            }
            return node;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new FormatException(path, "invalid JSON" + where + ": " + e.getOriginalMessage());
        }
    }

    /** The file as UTF-8 text (a leading byte-order mark is dropped), or a clear error. */
    static String utf8Text(Path path, byte[] data) {
        int start = data.length >= 3 && (data[0] & 0xff) == 0xEF && (data[1] & 0xff) == 0xBB && (data[2] & 0xff) == 0xBF ? 3 : 0;
        return Utf8.decodeStrict(data, start, data.length - start).orElseThrow(() -> new FormatException(path,
                "not valid UTF-8 (first bad byte at offset " + Utf8.firstMalformed(data) + "); tokenizer files must be UTF-8"));
    }

    /** A JSON object of token → id (encoder.json, vocab.json, tokenizer.json's model.vocab). */
    static Map<String, Integer> vocab(Path path, JsonNode node, String what) {
        if (node == null || !node.isObject()) {
            throw new FormatException(path, what + " should be a JSON object of token → id");
        }
        Map<String, Integer> vocab = new HashMap<>(node.size() * 2);
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().canConvertToInt() || !e.getValue().isIntegralNumber() || e.getValue().asInt() < 0) {
                throw new FormatException(path, what + ": token '" + e.getKey() + "' has id " + e.getValue()
                        + ", expected a non-negative integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        if (vocab.isEmpty()) {
            throw new FormatException(path, what + " is empty");
        }
        return vocab;
    }

    /**
     * The size of the id space of token maps whose ids must run densely from 0: one more than the largest id,
     * after checking every id lies below the number of entries, before any array is sized by it (a corrupt id
     * of 2^31-1 must neither overflow nor allocate gigabytes).
     */
    static int idSpace(Path path, List<Map<String, Integer>> maps) {
        long entries = maps.stream().mapToLong(Map::size).sum();
        int size = 0;
        for (Map<String, Integer> m : maps) {
            for (var e : m.entrySet()) {
                if (e.getValue() < 0 || e.getValue() >= entries) {
                    throw new FormatException(path, "token '" + e.getKey() + "' has id " + e.getValue() + ", outside 0.." + (entries - 1)
                            + " (" + entries + " tokens)");
                }
                size = Math.max(size, e.getValue() + 1);
            }
        }
        return size;
    }
}

package io.nashswarm.format.packed;

import com.fasterxml.jackson.databind.JsonNode;
import io.nashswarm.format.FormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Typed access to the header's JSON fields: every failure is one {@link FormatException} naming the
 * file and the field ({@code where}), e.g. "tensor x group has no 'size'".
 */
record Fields(Path path) {
    JsonNode object(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isObject()) {
            throw fail(where + " has no '" + field + "' object");
        }
        return v;
    }

    String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw fail(where + " has no '" + field + "' string");
        }
        return v.asText();
    }

    /** A string or null (absent or JSON null) under {@code where.field}. */
    String optionalText(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw fail(where + "." + field + " is not a string");
        }
        return v.asText();
    }

    long integer(JsonNode n, String field, String where, long min, long max) {
        JsonNode v = n.get(field);
        if (v == null) {
            throw fail(where + " has no '" + field + "'");
        }
        return integer(v, where + " " + field, min, max);
    }

    long integer(JsonNode v, String where, long min, long max) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw fail(where + " is " + v + ", not an integer in " + min + ".." + max);
        }
        return v.longValue();
    }

    /**
     * Plain Java values (String, Boolean, Integer/Long/BigInteger, Float or Double, List, Map) of a JSON
     * value; {@code floats32}: non-integers as float (tokenizer scores), else double.
     */
    static Object plain(JsonNode v, boolean floats32) {
        if (v.isTextual()) {
            return v.asText();
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        if (v.isIntegralNumber()) {
            return v.canConvertToInt() ? (Object) v.intValue() : v.canConvertToLong() ? (Object) v.longValue() : v.bigIntegerValue();
        }
        if (v.isNumber()) {
            return floats32 ? (Object) Float.parseFloat(v.asText()) : (Object) v.decimalValue().doubleValue();
        }
        if (v.isArray()) {
            List<Object> out = new ArrayList<>(v.size());
            v.forEach(item -> out.add(plain(item, floats32)));
            return Collections.unmodifiableList(out);
        }
        if (v.isObject()) {
            Map<String, Object> out = new LinkedHashMap<>();
            v.properties().forEach(e -> out.put(e.getKey(), plain(e.getValue(), floats32)));
            return out;
        }
        return null;
    }

    FormatException fail(String problem) {
        return new FormatException(path, problem);
    }
}

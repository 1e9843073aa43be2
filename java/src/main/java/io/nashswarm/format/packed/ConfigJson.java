package io.nashswarm.format.packed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nashswarm.model.ModelConfig;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@link ModelConfig} as the header's {@code config} object: one JSON field per record component, in
 * declaration order, so a new config field is stored and read without editing this class. Enums are
 * lower-case names; floats their shortest decimal, read back exactly (no rounding through double).
 *
 * <p>Reflection over the record, not Jackson's record binding: every failure must name the field in
 * the header's own words ("config has no 'nKvHeads'", "config.ropeFreqFactors is not an array"), and
 * the config's own check reports as "config: invalid model configuration: …".
 */
final class ConfigJson {
    private ConfigJson() {}

    static ObjectNode write(ModelConfig c, JsonNodeFactory f) {
        ObjectNode n = f.objectNode();
        for (RecordComponent rc : ModelConfig.class.getRecordComponents()) {
            Object v;
            try {
                v = rc.getAccessor().invoke(c);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            n.set(rc.getName(), switch (v) {
                case null -> f.nullNode();
                case Enum<?> e -> f.textNode(e.name().toLowerCase(Locale.ROOT));
                case Integer i -> f.numberNode(i);
                case Float x -> f.numberNode(x);
                case Boolean b -> f.booleanNode(b);
                case List<?> list -> {
                    ArrayNode a = f.arrayNode(list.size());
                    list.forEach(x -> a.add((Float) x));
                    yield a;
                }
                default -> throw new IllegalStateException("config field " + rc.getName() + " of type " + rc.getType() + " has no header encoding");
            });
        }
        return n;
    }

    static ModelConfig read(JsonNode n, Fields f) {
        RecordComponent[] components = ModelConfig.class.getRecordComponents();
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            String name = components[i].getName();
            Class<?> type = components[i].getType();
            types[i] = type;
            JsonNode v = n.get(name);
            if (v == null && type == List.class) {
                v = NullNode.getInstance(); // optional lists (ropeFreqFactors) came after version 1's first files
            }
            if (v == null) {
                throw f.fail("config has no '" + name + "'");
            }
            args[i] = value(name, type, v, f);
        }
        try {
            return ModelConfig.class.getDeclaredConstructor(types).newInstance(args);
        } catch (InvocationTargetException e) {
            throw f.fail("config: " + e.getCause().getMessage());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object value(String name, Class<?> type, JsonNode v, Fields f) {
        String where = "config." + name;
        if (type == int.class) {
            return (int) f.integer(v, where, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        if (type == float.class) {
            return number(v, where, f);
        }
        if (type == boolean.class) {
            if (!v.isBoolean()) {
                throw f.fail(where + " is not true or false");
            }
            return v.asBoolean();
        }
        if (type.isEnum()) {
            if (v.isNull()) {
                return null;
            }
            if (!v.isTextual()) {
                throw f.fail(where + " is not a string");
            }
            try {
                return Enum.valueOf((Class<? extends Enum>) type, v.asText().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw f.fail(where + " '" + v.asText() + "' is not one of " + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT));
            }
        }
        if (type == List.class) { // of floats: the only list in ModelConfig
            if (v.isNull()) {
                return null;
            }
            if (!v.isArray()) {
                throw f.fail(where + " is not an array");
            }
            List<Float> list = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isNumber()) {
                    throw f.fail(where + " has a non-number " + e);
                }
                list.add(Float.parseFloat(e.asText()));
            }
            return list;
        }
        throw new IllegalStateException("config field " + name + " of type " + type + " has no header encoding");
    }

    /** A float from its exact decimal (the mapper keeps BigDecimals), rounded once. */
    private static float number(JsonNode v, String where, Fields f) {
        if (!v.isNumber()) {
            throw f.fail(where + " is not a number");
        }
        return Float.parseFloat(v.asText());
    }
}

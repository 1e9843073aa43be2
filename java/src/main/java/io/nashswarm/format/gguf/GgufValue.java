package io.nashswarm.format.gguf;

import java.util.ArrayList;
import java.util.List;

/**
 * A typed GGUF metadata value. Java representation (the one {@code Tokenizers.fromGguf} documents):
 * uint8/int8/uint16/int16/int32 → Integer; uint32/int64/uint64 → Long (uint64 keeps its bits);
 * float32 → Float; float64 → Double; bool → Boolean; string → String; array → {@link GgufArray}
 * here and {@code List} in {@link #toJava()}.
 */
public record GgufValue(GgufType type, Object value) {
    public GgufValue {
        check(type, value);
    }

    public static GgufValue uint8(int v) { return new GgufValue(GgufType.UINT8, v); }
    public static GgufValue int8(int v) { return new GgufValue(GgufType.INT8, v); }
    public static GgufValue uint16(int v) { return new GgufValue(GgufType.UINT16, v); }
    public static GgufValue int16(int v) { return new GgufValue(GgufType.INT16, v); }
    public static GgufValue int32(int v) { return new GgufValue(GgufType.INT32, v); }
    public static GgufValue uint32(long v) { return new GgufValue(GgufType.UINT32, v); }
    public static GgufValue int64(long v) { return new GgufValue(GgufType.INT64, v); }
    public static GgufValue uint64(long v) { return new GgufValue(GgufType.UINT64, v); }
    public static GgufValue float32(float v) { return new GgufValue(GgufType.FLOAT32, v); }
    public static GgufValue float64(double v) { return new GgufValue(GgufType.FLOAT64, v); }
    public static GgufValue bool(boolean v) { return new GgufValue(GgufType.BOOL, v); }
    public static GgufValue string(String v) { return new GgufValue(GgufType.STRING, v); }

    /** An array whose items are Java values of {@code elementType} (or {@link GgufArray}s for nested arrays). */
    public static GgufValue array(GgufType elementType, List<?> items) {
        return new GgufValue(GgufType.ARRAY, new GgufArray(elementType, items));
    }

    public static GgufValue strings(List<String> items) { return array(GgufType.STRING, items); }

    /** The plain Java value: arrays become (nested) {@code List}s. */
    public Object toJava() {
        return plain(value);
    }

    private static Object plain(Object v) {
        if (v instanceof GgufArray a) {
            List<Object> out = new ArrayList<>(a.items().size());
            for (Object item : a.items()) {
                out.add(plain(item));
            }
            return java.util.Collections.unmodifiableList(out);
        }
        return v;
    }

    private static void check(GgufType type, Object v) {
        boolean ok = switch (type) {
            case UINT8 -> v instanceof Integer i && i >= 0 && i <= 0xFF;
            case INT8 -> v instanceof Integer i && i >= Byte.MIN_VALUE && i <= Byte.MAX_VALUE;
            case UINT16 -> v instanceof Integer i && i >= 0 && i <= 0xFFFF;
            case INT16 -> v instanceof Integer i && i >= Short.MIN_VALUE && i <= Short.MAX_VALUE;
            case INT32 -> v instanceof Integer;
            case UINT32 -> v instanceof Long l && l >= 0 && l <= 0xFFFFFFFFL;
            case INT64, UINT64 -> v instanceof Long;
            case FLOAT32 -> v instanceof Float;
            case FLOAT64 -> v instanceof Double;
            case BOOL -> v instanceof Boolean;
            case STRING -> v instanceof String;
            case ARRAY -> v instanceof GgufArray a && a.items().stream().allMatch(item -> itemOk(a.elementType(), item));
        };
        if (!ok) {
            throw new IllegalArgumentException("not a GGUF " + type + " value: " + v
                    + (v == null ? "" : " (" + v.getClass().getSimpleName() + ")"));
        }
    }

    private static boolean itemOk(GgufType type, Object item) {
        try {
            check(type, item);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}

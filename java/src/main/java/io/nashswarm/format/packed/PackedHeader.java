package io.nashswarm.format.packed;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nashswarm.EngineException;
import io.nashswarm.format.CanonicalTensors;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.MatrixStorage;
import io.nashswarm.format.SegmentReader;
import io.nashswarm.format.TensorSpec;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.PaddedMatrix;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.Section;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The packed file's JSON header: written by {@link PackedModelWriter}, read and checked against the
 * file by {@link #read}. Reading validates everything a loader relies on before any section is touched:
 * lengths and offsets against the file size, every section against the type's section table, the
 * tensor set and shapes against the config.
 *
 * @param tokenizer GGUF tokenizer metadata (plain Java values), or null when the file has none
 * @param headerBytes length of the JSON text in the file (0 for a header not yet written)
 */
public record PackedHeader(ModelConfig config, Provenance provenance, Map<String, Object> tokenizer,
                           List<TensorRecord> tensors, long headerBytes) {
    private static final JsonNodeFactory F = JsonNodeFactory.withExactBigDecimals(true);
    // Floats are read as exact decimals, then rounded once to float: a float32 written as its shortest
    // decimal comes back bit-identical (no double rounding through a double).
    private static final ObjectMapper JSON = new ObjectMapper()
            .setNodeFactory(F)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public PackedHeader {
        tensors = List.copyOf(tensors);
    }

    /** Start of the data region: the preamble and header, rounded up to the alignment. */
    public long dataOffset() {
        return PackedFormat.alignUp(PackedFormat.PREAMBLE_BYTES + headerBytes);
    }

    /** Total bytes of all sections. */
    public long sectionBytes() {
        return tensors.stream().mapToLong(TensorRecord::bytes).sum();
    }

    public TensorRecord tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElse(null);
    }

    // ---------------------------------------------------------------- writing

    /** The header as compact UTF-8 JSON. */
    byte[] toJson() {
        ObjectNode root = F.objectNode();
        root.put("format", PackedFormat.FORMAT);
        root.put("alignment", PackedFormat.ALIGNMENT);
        root.set("config", configNode(config));
        ObjectNode p = root.putObject("provenance");
        p.put("recipe", provenance.recipe());
        p.set("recipeParams", toNode(provenance.recipeParams() == null ? Map.of() : provenance.recipeParams()));
        p.put("sourcePath", provenance.sourcePath());
        p.put("sourceSha256", provenance.sourceSha256());
        p.put("calibration", provenance.calibration());
        p.put("createdBy", provenance.createdBy());
        if (tokenizer != null) {
            root.set("tokenizer", toNode(tokenizer));
        }
        ArrayNode list = root.putArray("tensors");
        for (TensorRecord t : tensors) {
            ObjectNode n = list.addObject();
            n.put("name", t.name());
            n.put("type", t.type().label());
            ArrayNode shape = n.putArray("shape");
            t.shape().forEach(shape::add);
            if (t.padded()) {
                n.put("stored_cols", t.storedCols());
            }
            if (t.spec() != null) {
                n.putObject("group").put("size", t.spec().groupSize()).put("flags", t.spec().flags());
            }
            if (t.mix() != null) {
                n.putObject("mix").put("groups2", t.mix().groups2()).put("groups4", t.mix().groups4())
                        .put("groups8", t.mix().groups8()).put("outliers", t.mix().outliers());
            }
            if (t.layout() == Layout.IN_OUT) {
                n.put("layout", "in_out");
            }
            ArrayNode sections = n.putArray("sections");
            for (TensorRecord.Section s : t.sections()) {
                sections.addObject().put("name", s.name()).put("offset", s.offset()).put("bytes", s.bytes())
                        .put("crc32c", PackedFormat.hex(s.crc32c()));
            }
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new EngineException("cannot write the packed header: " + e.getOriginalMessage(), e);
        }
    }

    /** Every component of the config record, so a new field is stored without editing this class. */
    private static ObjectNode configNode(ModelConfig c) {
        ObjectNode n = F.objectNode();
        for (RecordComponent rc : ModelConfig.class.getRecordComponents()) {
            Object v;
            try {
                v = rc.getAccessor().invoke(c);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            n.set(rc.getName(), v instanceof Enum<?> e ? F.textNode(e.name().toLowerCase(Locale.ROOT)) : toNode(v));
        }
        return n;
    }

    private static JsonNode toNode(Object v) {
        return switch (v) {
            case null -> F.nullNode();
            case String s -> F.textNode(s);
            case Integer i -> F.numberNode(i);
            case Long l -> F.numberNode(l);
            case Float f -> F.numberNode(f);
            case Double d -> F.numberNode(d);
            case Boolean b -> F.booleanNode(b);
            case List<?> list -> {
                ArrayNode a = F.arrayNode(list.size());
                list.forEach(item -> a.add(toNode(item)));
                yield a;
            }
            case Map<?, ?> map -> {
                ObjectNode o = F.objectNode();
                map.forEach((k, item) -> o.set(String.valueOf(k), toNode(item)));
                yield o;
            }
            default -> JSON.valueToTree(v);
        };
    }

    // ---------------------------------------------------------------- reading

    /** Reads and checks the header of a packed file (mapped only while reading). */
    public static PackedHeader read(Path path) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            return read(path, io.nashswarm.format.MappedFiles.map(path, arena));
        }
    }

    /**
     * Reads and checks the header of the packed file whose whole content is {@code file}.
     *
     * @throws FormatException naming {@code path} and the problem
     */
    public static PackedHeader read(Path path, MemorySegment file) {
        long size = file.byteSize();
        if (size < PackedFormat.PREAMBLE_BYTES) {
            throw new FormatException(path, "truncated: " + size + " bytes, shorter than the 16-byte preamble (magic, version, header length)");
        }
        SegmentReader r = new SegmentReader(path, file, 0);
        if (r.i32("magic") != PackedFormat.MAGIC) {
            throw new FormatException(path, "not a packed model file (no NSWQ magic)");
        }
        int version = r.i32("format version");
        if (version != PackedFormat.VERSION) {
            throw new FormatException(path, "format version " + Integer.toUnsignedString(version)
                    + " is not supported (this engine reads version " + PackedFormat.VERSION + ")");
        }
        long h = r.i64("header length");
        if (h <= 0 || h > PackedFormat.MAX_HEADER_BYTES) {
            throw new FormatException(path, "header length " + Long.toUnsignedString(h) + " is absurd (must be 1.."
                    + PackedFormat.MAX_HEADER_BYTES + " bytes)");
        }
        if (h > size - PackedFormat.PREAMBLE_BYTES) {
            throw new FormatException(path, "header length " + h + " runs past the end of the file (" + size
                    + " bytes): the file is truncated or corrupt");
        }
        byte[] text = r.bytes(h, "header");
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new FormatException(path, "corrupt header JSON: " + why);
        }
        return new Reader(path, size, h).header(root);
    }

    /** Turns the JSON tree into records, with messages that name the field. */
    private record Reader(Path path, long fileSize, long headerBytes) {
        PackedHeader header(JsonNode root) {
            if (root == null || !root.isObject()) {
                throw fail("the header is not a JSON object");
            }
            String format = text(root, "format", "header");
            if (!format.equals(PackedFormat.FORMAT)) {
                throw fail("header format is '" + format + "', expected '" + PackedFormat.FORMAT + "'");
            }
            long alignment = integer(root, "alignment", "header", 1, Integer.MAX_VALUE);
            if (alignment != PackedFormat.ALIGNMENT) {
                throw fail("alignment " + alignment + " is not supported (" + PackedFormat.ALIGNMENT + ")");
            }
            ModelConfig config = config(object(root, "config", "header"));
            Provenance provenance = provenance(object(root, "provenance", "header"));
            JsonNode tok = root.get("tokenizer");
            Map<String, Object> tokenizer = tok == null || tok.isNull() ? null : tokenizer(tok);
            JsonNode list = root.get("tensors");
            if (list == null || !list.isArray()) {
                throw fail("header has no 'tensors' array");
            }
            List<TensorRecord> tensors = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                tensors.add(tensor(list.get(i), i));
            }
            checkAgainstConfig(tensors, config);
            checkNoOverlap(tensors);
            return new PackedHeader(config, provenance, tokenizer, tensors, headerBytes);
        }

        private long dataOffset() {
            return PackedFormat.alignUp(PackedFormat.PREAMBLE_BYTES + headerBytes);
        }

        private ModelConfig config(JsonNode n) {
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
                    throw fail("config has no '" + name + "'");
                }
                args[i] = configValue(name, type, v);
            }
            try {
                return ModelConfig.class.getDeclaredConstructor(types).newInstance(args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw fail("config: " + e.getCause().getMessage());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private Object configValue(String name, Class<?> type, JsonNode v) {
            String where = "config." + name;
            if (type == int.class) {
                return (int) integer(v, where, Integer.MIN_VALUE, Integer.MAX_VALUE);
            }
            if (type == float.class) {
                if (!v.isNumber()) {
                    throw fail(where + " is not a number");
                }
                return Float.parseFloat(v.asText());
            }
            if (type == boolean.class) {
                if (!v.isBoolean()) {
                    throw fail(where + " is not true or false");
                }
                return v.asBoolean();
            }
            if (type.isEnum()) {
                if (v.isNull()) {
                    return null;
                }
                if (!v.isTextual()) {
                    throw fail(where + " is not a string");
                }
                try {
                    return Enum.valueOf((Class<? extends Enum>) type, v.asText().toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw fail(where + " '" + v.asText() + "' is not one of " + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT));
                }
            }
            if (type == List.class) { // of floats: the only list in ModelConfig
                if (v.isNull()) {
                    return null;
                }
                if (!v.isArray()) {
                    throw fail(where + " is not an array");
                }
                List<Float> list = new ArrayList<>();
                for (JsonNode e : v) {
                    if (!e.isNumber()) {
                        throw fail(where + " has a non-number " + e);
                    }
                    list.add(Float.parseFloat(e.asText()));
                }
                return list;
            }
            throw new IllegalStateException("config field " + name + " of type " + type + " has no header encoding");
        }

        private Provenance provenance(JsonNode n) {
            JsonNode params = n.get("recipeParams");
            Map<String, Object> recipeParams = new LinkedHashMap<>();
            if (params != null && !params.isNull()) {
                if (!params.isObject()) {
                    throw fail("provenance.recipeParams is not an object");
                }
                params.properties().forEach(e -> recipeParams.put(e.getKey(), plain(e.getValue(), false)));
            }
            return new Provenance(optionalText(n, "recipe"), recipeParams, optionalText(n, "sourcePath"),
                    optionalText(n, "sourceSha256"), optionalText(n, "calibration"), optionalText(n, "createdBy"));
        }

        @SuppressWarnings("unchecked")
        private Map<String, Object> tokenizer(JsonNode n) {
            if (!n.isObject()) {
                throw fail("tokenizer is not an object");
            }
            return (Map<String, Object>) plain(n, true);
        }

        private TensorRecord tensor(JsonNode n, int index) {
            if (n == null || !n.isObject()) {
                throw fail("tensors[" + index + "] is not an object");
            }
            String name = text(n, "name", "tensors[" + index + "]");
            String what = "tensor " + name;
            String label = text(n, "type", what);
            QuantType type = QuantType.byLabel(label).orElseThrow(() -> fail(what + ": unknown quant type label '" + label
                    + "' (known: " + Arrays.stream(QuantType.values()).map(QuantType::label).toList() + ")"));
            JsonNode shape = n.get("shape");
            if (shape == null || !shape.isArray() || shape.size() < 1 || shape.size() > 2) {
                throw fail(what + ": shape should be [rows, cols] or [length]");
            }
            boolean matrix = shape.size() == 2;
            int rows = (int) integer(shape.get(0), what + " shape", 1, Integer.MAX_VALUE);
            int cols = matrix ? (int) integer(shape.get(1), what + " shape", 1, Integer.MAX_VALUE) : 1;
            if (!matrix && type != QuantType.F32) {
                throw fail(what + ": vectors are stored as f32, not " + type.label());
            }
            Layout layout = Layout.OUT_IN;
            if (n.has("layout")) {
                String l = text(n, "layout", what);
                if (!l.equals("in_out") && !l.equals("out_in")) {
                    throw fail(what + ": layout '" + l + "' is not in_out or out_in");
                }
                layout = l.equals("in_out") ? Layout.IN_OUT : Layout.OUT_IN;
                if (layout == Layout.IN_OUT && (!matrix || type.blockSize() != 1 || type.isPacked())) {
                    throw fail(what + ": a " + type.label() + (matrix ? " matrix" : " vector") + " cannot be stored [in][out]");
                }
            }
            int storedCols = cols;
            if (n.has("stored_cols")) {
                storedCols = (int) integer(n, "stored_cols", what, 1, Integer.MAX_VALUE);
                if (!matrix || !type.isPacked() || !PaddedMatrix.needed(cols) || storedCols != PaddedMatrix.storedCols(cols)) {
                    throw fail(what + ": stored_cols " + storedCols + " is not the padding of a packed matrix's rows of " + cols
                            + (matrix && type.isPacked() && PaddedMatrix.needed(cols) ? " (expected " + PaddedMatrix.storedCols(cols) + ")" : ""));
                }
            }
            GroupSpec spec = null;
            MixCounts mix = null;
            if (type.isPacked()) {
                JsonNode g = object(n, "group", what);
                int size = (int) integer(g, "size", what + " group", 1, Integer.MAX_VALUE);
                int flags = (int) integer(g, "flags", what + " group", 0, Integer.MAX_VALUE);
                try {
                    spec = GroupSpec.fromFlags(size, flags);
                    spec.check(type, storedCols);
                } catch (EngineException e) {
                    throw fail(what + ": " + e.getMessage());
                }
                if (type.hasMixCounts()) {
                    JsonNode m = object(n, "mix", what);
                    mix = new MixCounts(integer(m, "groups2", what + " mix", 0, Long.MAX_VALUE),
                            integer(m, "groups4", what + " mix", 0, Long.MAX_VALUE),
                            integer(m, "groups8", what + " mix", 0, Long.MAX_VALUE),
                            integer(m, "outliers", what + " mix", 0, Long.MAX_VALUE));
                }
            } else if (n.has("group") || n.has("mix")) {
                throw fail(what + ": " + type.label() + " has no group spec or mix");
            }
            List<Section> expected = expectedSections(what, type, rows, storedCols, spec, mix);
            List<TensorRecord.Section> sections = sections(n, what, expected, type, spec);
            return new TensorRecord(name, type, matrix, rows, cols, storedCols, layout, spec, mix, sections);
        }

        private List<Section> expectedSections(String what, QuantType type, int rows, int cols, GroupSpec spec, MixCounts mix) {
            try {
                if (type.isPacked()) {
                    return type.sections(rows, cols, spec, mix);
                }
                return List.of(new Section(MatrixStorage.DATA, type.bytesFor((long) rows * cols)));
            } catch (EngineException | IllegalArgumentException e) {
                throw fail(what + ": " + e.getMessage());
            }
        }

        /** The stored sections, which must be exactly the expected names with the expected sizes, each inside the file. */
        private List<TensorRecord.Section> sections(JsonNode n, String what, List<Section> expected, QuantType type, GroupSpec spec) {
            JsonNode list = n.get("sections");
            if (list == null || !list.isArray()) {
                throw fail(what + ": no 'sections' array");
            }
            String kind = type.label() + (spec == null ? "" : " " + spec);
            Map<String, TensorRecord.Section> given = new LinkedHashMap<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode s = list.get(i);
                String where = what + " sections[" + i + "]";
                if (!s.isObject()) {
                    throw fail(where + " is not an object");
                }
                String name = text(s, "name", where);
                where = what + ": section '" + name + "'";
                long offset = integer(s, "offset", where, 0, Long.MAX_VALUE);
                long bytes = integer(s, "bytes", where, 0, Long.MAX_VALUE);
                String crc = text(s, "crc32c", where);
                if (!crc.matches("[0-9a-f]{8}")) {
                    throw fail(where + ": crc32c '" + crc + "' is not 8 lower-case hex digits");
                }
                if (given.put(name, new TensorRecord.Section(name, offset, bytes, Integer.parseUnsignedInt(crc, 16))) != null) {
                    throw fail(what + ": section '" + name + "' is listed twice");
                }
            }
            List<TensorRecord.Section> out = new ArrayList<>();
            for (Section e : expected) {
                TensorRecord.Section s = given.get(e.name());
                if (s == null) {
                    throw fail(what + ": section '" + e.name() + "' is missing (a " + kind + " matrix has "
                            + expected.stream().map(Section::name).toList() + ")");
                }
                if (s.bytes() != e.bytes()) {
                    throw fail(what + ": section '" + e.name() + "' has " + s.bytes() + " bytes, but a " + kind
                            + " tensor of this shape needs " + e.bytes());
                }
                checkInFile(what, s);
                out.add(s);
            }
            for (String name : given.keySet()) {
                if (expected.stream().noneMatch(e -> e.name().equals(name))) {
                    throw fail(what + ": unexpected section '" + name + "' (a " + kind + " tensor has "
                            + expected.stream().map(Section::name).toList() + ")");
                }
            }
            return out;
        }

        private void checkInFile(String what, TensorRecord.Section s) {
            if (s.offset() % PackedFormat.ALIGNMENT != 0) {
                throw fail(what + ": section '" + s.name() + "' offset " + s.offset() + " is not a multiple of " + PackedFormat.ALIGNMENT);
            }
            long room = fileSize - dataOffset();
            if (s.offset() > room || s.bytes() > room - s.offset()) {
                throw fail(what + ": section '" + s.name() + "' (" + s.bytes() + " bytes at data offset " + s.offset()
                        + ") lies outside the file: the data region holds " + Math.max(0, room) + " bytes (truncated file?)");
            }
        }

        /** Exactly the tensors the config implies, each with the implied shape. */
        private void checkAgainstConfig(List<TensorRecord> tensors, ModelConfig config) {
            Map<String, TensorRecord> byName = new HashMap<>();
            for (TensorRecord t : tensors) {
                if (byName.put(t.name(), t) != null) {
                    throw fail("tensor " + t.name() + " is listed twice");
                }
            }
            Set<String> expected = new HashSet<>();
            for (TensorSpec spec : CanonicalTensors.of(config)) {
                expected.add(spec.name());
                TensorRecord t = byName.get(spec.name());
                if (t == null) {
                    throw fail("missing tensor " + spec.name() + " (the config describes a " + describe(config) + ")");
                }
                if (t.matrix() != spec.matrix() || t.rows() != spec.rows() || t.cols() != spec.cols()) {
                    throw fail("tensor " + t.name() + " has shape " + t.shape() + " but the config implies " + spec.shape());
                }
            }
            for (TensorRecord t : tensors) {
                if (!expected.contains(t.name())) {
                    throw fail("unexpected tensor " + t.name() + " (not part of a " + describe(config) + ")");
                }
            }
        }

        private static String describe(ModelConfig c) {
            return c.architecture().name().toLowerCase(Locale.ROOT) + " model with " + c.nLayers() + " layers"
                    + (c.tiedEmbeddings() ? " and a tied LM head" : "");
        }

        private void checkNoOverlap(List<TensorRecord> tensors) {
            record Span(long start, long end, String what) {}
            List<Span> spans = new ArrayList<>();
            for (TensorRecord t : tensors) {
                for (TensorRecord.Section s : t.sections()) {
                    if (s.bytes() > 0) {
                        spans.add(new Span(s.offset(), s.offset() + s.bytes(), "tensor " + t.name() + " section '" + s.name() + "'"));
                    }
                }
            }
            spans.sort(Comparator.comparingLong(Span::start));
            for (int i = 1; i < spans.size(); i++) {
                if (spans.get(i).start() < spans.get(i - 1).end()) {
                    throw fail(spans.get(i - 1).what() + " and " + spans.get(i).what() + " overlap");
                }
            }
        }

        // ------------------------------------------------------------ typed field access

        private Object plain(JsonNode v, boolean floats32) {
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
                return java.util.Collections.unmodifiableList(out);
            }
            if (v.isObject()) {
                Map<String, Object> out = new LinkedHashMap<>();
                v.properties().forEach(e -> out.put(e.getKey(), plain(e.getValue(), floats32)));
                return out;
            }
            return null;
        }

        private JsonNode object(JsonNode n, String field, String where) {
            JsonNode v = n.get(field);
            if (v == null || !v.isObject()) {
                throw fail(where + " has no '" + field + "' object");
            }
            return v;
        }

        private String text(JsonNode n, String field, String where) {
            JsonNode v = n.get(field);
            if (v == null || !v.isTextual()) {
                throw fail(where + " has no '" + field + "' string");
            }
            return v.asText();
        }

        private String optionalText(JsonNode n, String field) {
            JsonNode v = n.get(field);
            if (v == null || v.isNull()) {
                return null;
            }
            if (!v.isTextual()) {
                throw fail("provenance." + field + " is not a string");
            }
            return v.asText();
        }

        private long integer(JsonNode n, String field, String where, long min, long max) {
            JsonNode v = n.get(field);
            if (v == null) {
                throw fail(where + " has no '" + field + "'");
            }
            return integer(v, where + " " + field, min, max);
        }

        private long integer(JsonNode v, String where, long min, long max) {
            if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
                throw fail(where + " is " + v + ", not an integer in " + min + ".." + max);
            }
            return v.longValue();
        }

        private FormatException fail(String problem) {
            return new FormatException(path, problem);
        }
    }
}

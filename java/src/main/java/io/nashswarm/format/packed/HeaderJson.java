package io.nashswarm.format.packed;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nashswarm.EngineException;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.SegmentReader;
import io.nashswarm.model.ModelConfig;
import io.nashswarm.tensor.GroupSpec;
import io.nashswarm.tensor.Layout;
import io.nashswarm.tensor.MixCounts;
import io.nashswarm.tensor.QuantType;
import io.nashswarm.tensor.Section;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header as bytes: the preamble (magic, version, header length) and the JSON text, written from a
 * {@link PackedHeader} and read back into one, field by field with messages that name the field; the
 * consistency rules are {@link HeaderChecks}', the config's encoding {@link ConfigJson}'s.
 */
final class HeaderJson {
    private static final JsonNodeFactory F = JsonNodeFactory.withExactBigDecimals(true);
    // Floats are read as exact decimals, then rounded once to float: a float32 written as its shortest
    // decimal comes back bit-identical (no double rounding through a double).
    private static final ObjectMapper JSON = new ObjectMapper()
            .setNodeFactory(F)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private HeaderJson() {}

    // ---------------------------------------------------------------- writing

    /** The header as compact UTF-8 JSON. */
    static byte[] write(PackedHeader h) {
        ObjectNode root = F.objectNode();
        root.put("format", PackedFormat.FORMAT);
        root.put("alignment", PackedFormat.ALIGNMENT);
        root.set("config", ConfigJson.write(h.config(), F));
        Provenance provenance = h.provenance();
        ObjectNode p = root.putObject("provenance");
        p.put("recipe", provenance.recipe());
        p.set("recipeParams", toNode(provenance.recipeParams() == null ? Map.of() : provenance.recipeParams()));
        p.put("sourcePath", provenance.sourcePath());
        p.put("sourceSha256", provenance.sourceSha256());
        p.put("calibration", provenance.calibration());
        p.put("createdBy", provenance.createdBy());
        if (h.tokenizer() != null) {
            root.set("tokenizer", toNode(h.tokenizer()));
        }
        ArrayNode list = root.putArray("tensors");
        for (TensorRecord t : h.tensors()) {
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

    /** Plain Java values (recipe parameters, tokenizer metadata) as JSON. */
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

    /**
     * Reads and checks the header of the packed file whose whole content is {@code file}.
     *
     * @throws FormatException naming {@code path} and the problem
     */
    static PackedHeader read(Path path, MemorySegment file) {
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
        Fields f = new Fields(path);
        return new Reader(f, new HeaderChecks(f, size, PackedFormat.alignUp(PackedFormat.PREAMBLE_BYTES + h)), h).header(root);
    }

    /** Turns the JSON tree into records, field by field. */
    private record Reader(Fields f, HeaderChecks check, long headerBytes) {
        PackedHeader header(JsonNode root) {
            if (root == null || !root.isObject()) {
                throw f.fail("the header is not a JSON object");
            }
            String format = f.text(root, "format", "header");
            if (!format.equals(PackedFormat.FORMAT)) {
                throw f.fail("header format is '" + format + "', expected '" + PackedFormat.FORMAT + "'");
            }
            long alignment = f.integer(root, "alignment", "header", 1, Integer.MAX_VALUE);
            if (alignment != PackedFormat.ALIGNMENT) {
                throw f.fail("alignment " + alignment + " is not supported (" + PackedFormat.ALIGNMENT + ")");
            }
            ModelConfig config = ConfigJson.read(f.object(root, "config", "header"), f);
            Provenance provenance = provenance(f.object(root, "provenance", "header"));
            JsonNode tok = root.get("tokenizer");
            Map<String, Object> tokenizer = tok == null || tok.isNull() ? null : tokenizer(tok);
            JsonNode list = root.get("tensors");
            if (list == null || !list.isArray()) {
                throw f.fail("header has no 'tensors' array");
            }
            List<TensorRecord> tensors = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                tensors.add(tensor(list.get(i), i));
            }
            check.againstConfig(tensors, config);
            check.noOverlap(tensors);
            return new PackedHeader(config, provenance, tokenizer, tensors, headerBytes);
        }

        private Provenance provenance(JsonNode n) {
            JsonNode params = n.get("recipeParams");
            Map<String, Object> recipeParams = new LinkedHashMap<>();
            if (params != null && !params.isNull()) {
                if (!params.isObject()) {
                    throw f.fail("provenance.recipeParams is not an object");
                }
                params.properties().forEach(e -> recipeParams.put(e.getKey(), Fields.plain(e.getValue(), false)));
            }
            return new Provenance(optional(n, "recipe"), recipeParams, optional(n, "sourcePath"),
                    optional(n, "sourceSha256"), optional(n, "calibration"), optional(n, "createdBy"));
        }

        private String optional(JsonNode n, String field) {
            return f.optionalText(n, field, "provenance");
        }

        @SuppressWarnings("unchecked")
        private Map<String, Object> tokenizer(JsonNode n) {
            if (!n.isObject()) {
                throw f.fail("tokenizer is not an object");
            }
            return (Map<String, Object>) Fields.plain(n, true);
        }

        private TensorRecord tensor(JsonNode n, int index) {
            if (n == null || !n.isObject()) {
                throw f.fail("tensors[" + index + "] is not an object");
            }
            String name = f.text(n, "name", "tensors[" + index + "]");
            String what = "tensor " + name;
            String label = f.text(n, "type", what);
            QuantType type = QuantType.byLabel(label).orElseThrow(() -> f.fail(what + ": unknown quant type label '" + label
                    + "' (known: " + Arrays.stream(QuantType.values()).map(QuantType::label).toList() + ")"));
            JsonNode shape = n.get("shape");
            if (shape == null || !shape.isArray() || shape.size() < 1 || shape.size() > 2) {
                throw f.fail(what + ": shape should be [rows, cols] or [length]");
            }
            boolean matrix = shape.size() == 2;
            int rows = (int) f.integer(shape.get(0), what + " shape", 1, Integer.MAX_VALUE);
            int cols = matrix ? (int) f.integer(shape.get(1), what + " shape", 1, Integer.MAX_VALUE) : 1;
            if (!matrix) {
                check.vector(what, type);
            }
            Layout layout = Layout.OUT_IN;
            if (n.has("layout")) {
                String l = f.text(n, "layout", what);
                if (!l.equals("in_out") && !l.equals("out_in")) {
                    throw f.fail(what + ": layout '" + l + "' is not in_out or out_in");
                }
                layout = l.equals("in_out") ? Layout.IN_OUT : Layout.OUT_IN;
                check.layout(what, type, matrix, layout);
            }
            int storedCols = cols;
            if (n.has("stored_cols")) {
                storedCols = (int) f.integer(n, "stored_cols", what, 1, Integer.MAX_VALUE);
                check.storedCols(what, type, matrix, cols, storedCols);
            }
            GroupSpec spec = null;
            MixCounts mix = null;
            if (type.isPacked()) {
                JsonNode g = f.object(n, "group", what);
                int size = (int) f.integer(g, "size", what + " group", 1, Integer.MAX_VALUE);
                int flags = (int) f.integer(g, "flags", what + " group", 0, Integer.MAX_VALUE);
                try {
                    spec = GroupSpec.fromFlags(size, flags);
                } catch (EngineException e) {
                    throw f.fail(what + ": " + e.getMessage());
                }
                check.groupSpec(what, type, spec, storedCols);
                if (type.hasMixCounts()) {
                    JsonNode m = f.object(n, "mix", what);
                    mix = new MixCounts(f.integer(m, "groups2", what + " mix", 0, Long.MAX_VALUE),
                            f.integer(m, "groups4", what + " mix", 0, Long.MAX_VALUE),
                            f.integer(m, "groups8", what + " mix", 0, Long.MAX_VALUE),
                            f.integer(m, "outliers", what + " mix", 0, Long.MAX_VALUE));
                }
            } else if (n.has("group") || n.has("mix")) {
                throw f.fail(what + ": " + type.label() + " has no group spec or mix");
            }
            List<Section> expected = check.expectedSections(what, type, rows, storedCols, spec, mix);
            String kind = type.label() + (spec == null ? "" : " " + spec);
            List<TensorRecord.Section> sections = check.sections(what, expected, sections(n, what), kind);
            return new TensorRecord(name, type, matrix, rows, cols, storedCols, layout, spec, mix, sections);
        }

        /** The sections the header lists, by name in its order (a name listed twice is an error). */
        private Map<String, TensorRecord.Section> sections(JsonNode n, String what) {
            JsonNode list = n.get("sections");
            if (list == null || !list.isArray()) {
                throw f.fail(what + ": no 'sections' array");
            }
            Map<String, TensorRecord.Section> given = new LinkedHashMap<>();
            for (int i = 0; i < list.size(); i++) {
                JsonNode s = list.get(i);
                String where = what + " sections[" + i + "]";
                if (!s.isObject()) {
                    throw f.fail(where + " is not an object");
                }
                String name = f.text(s, "name", where);
                where = what + ": section '" + name + "'";
                long offset = f.integer(s, "offset", where, 0, Long.MAX_VALUE);
                long bytes = f.integer(s, "bytes", where, 0, Long.MAX_VALUE);
                String crc = f.text(s, "crc32c", where);
                if (!crc.matches("[0-9a-f]{8}")) {
                    throw f.fail(where + ": crc32c '" + crc + "' is not 8 lower-case hex digits");
                }
                if (given.put(name, new TensorRecord.Section(name, offset, bytes, Integer.parseUnsignedInt(crc, 16))) != null) {
                    throw f.fail(what + ": section '" + name + "' is listed twice");
                }
            }
            return given;
        }
    }
}

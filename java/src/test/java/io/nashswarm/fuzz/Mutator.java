package io.nashswarm.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Deterministic corruptions of one file's bytes (the same Random gives the same variant). Generic ones for
 * every file: truncation, bit flips, integers at extremes, copied and deleted byte runs, biased towards the
 * header. Structured ones by kind: the fields of a GGUF header (counts, lengths, dims, types, offsets); the
 * JSON header of safetensors and packed files (values at extremes, wrong dtypes and shapes, offsets that
 * overlap or run past the end, invalid UTF-8 and JSON); the llama2.c header and tokenizer lengths.
 */
final class Mutator {
    record Variant(byte[] bytes, String description) {}

    /** 0, −1, 2³¹ and neighbours, 2³², 2⁶³ (as 64-bit patterns). */
    static final long[] EXTREMES = {0, -1, 1, 2, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 0x1_0000_0000L, Long.MIN_VALUE, Long.MAX_VALUE,
            0x10000, 1L << 40, -2, 3, 255, 65535};
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String[] DTYPES = {"F32", "F16", "BF16", "I8", "U8", "I64", "F64", "BOOL", "F8_E4M3", "Q4", "", "f32", "int4", "nf4", "mixed"};

    private Mutator() {}

    /** A corruption of {@code b}, a file of the given kind (its name decides: .gguf, .safetensors, .nsq, .json, ...). */
    static Variant mutate(String fileName, byte[] b, Random rng) {
        Kind kind = Kind.of(fileName, b);
        int header = (int) Math.min(b.length, kind.headerEnd(b));
        int pick = rng.nextInt(10);
        if (pick < 5) {
            Variant v = switch (kind) {
                case GGUF -> ggufField(b, rng);
                case SAFETENSORS -> jsonHeader(b, 0, rng);
                case PACKED -> jsonHeader(b, 8, rng);
                case LLAMA2C -> {
                    int k = rng.nextInt(7);
                    yield intField(b, 4 * k, 4, rng, "llama2.c header " + "dim,hidden_dim,n_layers,n_heads,n_kv_heads,vocab_size,seq_len".split(",")[k]);
                }
                case LLAMA2C_TOKENIZER -> llama2cTokenizer(b, rng);
                case JSON_FILE -> jsonFile(b, rng);
                case OTHER -> null;
            };
            if (v != null) {
                return v;
            }
        }
        return switch (rng.nextInt(5)) {
            case 0 -> truncate(b, header, rng);
            case 1 -> bitFlips(b, header, rng);
            case 2 -> intField(b, offsetIn(b, header, rng) & ~3, rng.nextBoolean() ? 4 : 8, rng, "int");
            case 3 -> copyRun(b, header, rng);
            default -> deleteRun(b, header, rng);
        };
    }

    enum Kind {
        GGUF, SAFETENSORS, PACKED, LLAMA2C, LLAMA2C_TOKENIZER, JSON_FILE, OTHER;

        static Kind of(String name, byte[] b) {
            if (b.length >= 4 && new String(b, 0, 4, StandardCharsets.ISO_8859_1).equals("GGUF")) {
                return GGUF;
            }
            if (name.endsWith(".safetensors")) {
                return SAFETENSORS;
            }
            if (name.endsWith(".nsq")) {
                return PACKED;
            }
            if (name.endsWith(".json")) {
                return JSON_FILE;
            }
            if (name.startsWith("tok") && name.endsWith(".bin")) {
                return LLAMA2C_TOKENIZER;
            }
            if (name.endsWith(".bin")) {
                return LLAMA2C;
            }
            return OTHER;
        }

        long headerEnd(byte[] b) {
            return switch (this) {
                case GGUF -> Math.max(64, ggufFields(b).stream().mapToLong(f -> f.offset + f.width).max().orElse(64));
                case SAFETENSORS -> 8 + le(b, 0, 8);
                case PACKED -> 16 + le(b, 8, 8);
                case LLAMA2C -> 28;
                default -> b.length;
            };
        }
    }

    // ------------------------------------------------------------------ generic

    static Variant truncate(byte[] b, int header, Random rng) {
        int at = switch (rng.nextInt(3)) {
            case 0 -> rng.nextInt(Math.max(1, header));
            case 1 -> rng.nextInt(Math.max(1, b.length));
            default -> Math.max(0, b.length - 1 - rng.nextInt(Math.min(b.length, 256) + 1));
        };
        return new Variant(Arrays.copyOf(b, at), "truncated to " + at + " of " + b.length + " bytes");
    }

    static Variant bitFlips(byte[] b, int header, Random rng) {
        byte[] c = b.clone();
        int n = 1 + rng.nextInt(8);
        StringBuilder at = new StringBuilder();
        for (int i = 0; i < n && c.length > 0; i++) {
            int off = rng.nextInt(10) < 7 ? rng.nextInt(Math.max(1, header)) : rng.nextInt(c.length);
            off = Math.min(off, c.length - 1);
            int bit = rng.nextInt(8);
            c[off] ^= (byte) (1 << bit);
            at.append(i == 0 ? "" : ",").append(off).append('.').append(bit);
        }
        return new Variant(c, n + " bit flips at " + at);
    }

    static Variant intField(byte[] b, int off, int width, Random rng, String what) {
        if (b.length < width) {
            return truncate(b, b.length, rng);
        }
        off = Math.clamp(off, 0, b.length - width);
        long v = EXTREMES[rng.nextInt(EXTREMES.length)];
        byte[] c = b.clone();
        ByteBuffer bb = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        if (width == 4) {
            bb.putInt(off, (int) v);
        } else {
            bb.putLong(off, v);
        }
        return new Variant(c, what + " (" + width + " bytes at " + off + ") = " + (width == 4 ? Integer.toString((int) v) : Long.toString(v)));
    }

    static Variant copyRun(byte[] b, int header, Random rng) {
        if (b.length < 16) {
            return bitFlips(b, header, rng);
        }
        int len = 4 + rng.nextInt(60);
        int from = rng.nextInt(Math.max(1, b.length - len)), to = offsetIn(b, header, rng);
        byte[] c = b.clone();
        System.arraycopy(b, from, c, to, Math.min(len, Math.min(b.length - from, c.length - to)));
        return new Variant(c, len + " bytes copied from " + from + " to " + to);
    }

    static Variant deleteRun(byte[] b, int header, Random rng) {
        if (b.length < 2) {
            return truncate(b, header, rng);
        }
        int at = offsetIn(b, header, rng), len = Math.min(b.length - at, 1 + rng.nextInt(32));
        byte[] c = new byte[b.length - len];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(b, at + len, c, at, b.length - at - len);
        return new Variant(c, len + " bytes deleted at " + at);
    }

    private static int offsetIn(byte[] b, int header, Random rng) {
        return Math.min(b.length - 1, rng.nextInt(10) < 8 ? rng.nextInt(Math.max(1, header)) : rng.nextInt(Math.max(1, b.length)));
    }

    // ------------------------------------------------------------------ GGUF

    /** A field of the GGUF header: where it is, how wide, what it is. */
    record Field(int offset, int width, String what) {}

    /** Walks the header (as far as it is readable) and lists its counts, lengths, types, dims and offsets. */
    static List<Field> ggufFields(byte[] b) {
        List<Field> f = new ArrayList<>();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        try {
            f.add(new Field(4, 4, "version"));
            f.add(new Field(8, 8, "tensor_count"));
            f.add(new Field(16, 8, "kv_count"));
            long tensors = bb.getLong(8), kvs = bb.getLong(16);
            int p = 24;
            for (long i = 0; i < kvs; i++) {
                f.add(new Field(p, 8, "kv " + i + " key length"));
                p += 8 + (int) bb.getLong(p);
                f.add(new Field(p, 4, "kv " + i + " value type"));
                int type = bb.getInt(p);
                p += 4;
                p = ggufValue(bb, type, p, f, "kv " + i);
            }
            for (long i = 0; i < tensors; i++) {
                f.add(new Field(p, 8, "tensor " + i + " name length"));
                p += 8 + (int) bb.getLong(p);
                f.add(new Field(p, 4, "tensor " + i + " n_dims"));
                int dims = bb.getInt(p);
                p += 4;
                for (int d = 0; d < dims; d++) {
                    f.add(new Field(p, 8, "tensor " + i + " dim " + d));
                    p += 8;
                }
                f.add(new Field(p, 4, "tensor " + i + " type"));
                f.add(new Field(p + 4, 8, "tensor " + i + " offset"));
                p += 12;
            }
        } catch (RuntimeException e) {
            // a header already cut short: the fields found so far
        }
        return f;
    }

    private static int ggufValue(ByteBuffer bb, int type, int p, List<Field> f, String what) {
        return switch (type) {
            case 0, 1, 7 -> p + 1;
            case 2, 3 -> p + 2;
            case 4, 5, 6 -> p + 4;
            case 10, 11, 12 -> p + 8;
            case 8 -> {
                f.add(new Field(p, 8, what + " string length"));
                yield p + 8 + (int) bb.getLong(p);
            }
            case 9 -> {
                f.add(new Field(p, 4, what + " array type"));
                f.add(new Field(p + 4, 8, what + " array length"));
                int et = bb.getInt(p);
                long n = bb.getLong(p + 4);
                int q = p + 12;
                for (long i = 0; i < n; i++) {
                    q = ggufValue(bb, et, q, i < 2 ? f : new ArrayList<>(), what + "[" + i + "]");
                }
                yield q;
            }
            default -> throw new IllegalStateException("type " + type);
        };
    }

    static Variant ggufField(byte[] b, Random rng) {
        List<Field> fields = ggufFields(b);
        if (fields.isEmpty()) {
            return null;
        }
        Field f = fields.get(rng.nextInt(fields.size()));
        if (f.what().endsWith(" offset") && rng.nextBoolean()) { // overlap another tensor or run past the end
            List<Field> offsets = fields.stream().filter(x -> x.what().endsWith(" offset")).toList();
            Field other = offsets.get(rng.nextInt(offsets.size()));
            long v = rng.nextBoolean() ? le(b, other.offset(), 8) : b.length + rng.nextInt(4096);
            byte[] c = b.clone();
            ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(f.offset(), v);
            return new Variant(c, "gguf " + f.what() + " = " + v + (v < b.length ? " (" + other.what() + ")" : " (past the end)"));
        }
        if (f.what().endsWith(" type") && rng.nextBoolean()) { // another real type: wrong dtype, same bytes
            int[] types = {0, 1, 2, 3, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 30, 31, 39};
            int t = types[rng.nextInt(types.length)];
            byte[] c = b.clone();
            ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(f.offset(), t);
            return new Variant(c, "gguf " + f.what() + " = " + t);
        }
        return intField(b, f.offset(), f.width(), rng, "gguf " + f.what());
    }

    // ------------------------------------------------------------------ JSON

    /**
     * Safetensors (u64 length at 0) and packed files (u64 length at 8 after magic and version): the JSON header
     * mutated as JSON or as text, written back with its length fixed up (or, sometimes, left stale).
     */
    static Variant jsonHeader(byte[] b, int lengthAt, Random rng) {
        if (b.length < lengthAt + 8) {
            return null;
        }
        long n = le(b, lengthAt, 8);
        int start = lengthAt + 8;
        if (n <= 0 || start + n > b.length) {
            return null;
        }
        byte[] text = Arrays.copyOfRange(b, start, start + (int) n);
        Variant t = rng.nextInt(3) == 0 ? textCorruption(text, rng) : jsonNode(text, rng);
        if (t == null) {
            return null;
        }
        boolean stale = rng.nextInt(5) == 0;
        byte[] body = t.bytes();
        // Packed files align the data region after the header: keep the text's length by padding with spaces where possible.
        if (lengthAt == 8 && body.length < n && !stale) {
            byte[] padded = Arrays.copyOf(body, (int) n);
            Arrays.fill(padded, body.length, (int) n, (byte) ' ');
            body = padded;
        }
        byte[] c = new byte[start + body.length + (b.length - start - (int) n)];
        System.arraycopy(b, 0, c, 0, start);
        System.arraycopy(body, 0, c, start, body.length);
        System.arraycopy(b, start + (int) n, c, start + body.length, b.length - start - (int) n);
        if (!stale) {
            ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(lengthAt, body.length);
        }
        return new Variant(c, "header JSON: " + t.description() + (stale ? " (length field left stale)" : ""));
    }

    static Variant jsonFile(byte[] b, Random rng) {
        Variant v = rng.nextInt(3) == 0 ? textCorruption(b, rng) : jsonNode(b, rng);
        return v == null ? null : new Variant(v.bytes(), "JSON: " + v.description());
    }

    /** Invalid UTF-8, a cut, a missing or extra brace or quote. */
    static Variant textCorruption(byte[] text, Random rng) {
        if (text.length == 0) {
            return null;
        }
        int at = rng.nextInt(text.length);
        return switch (rng.nextInt(4)) {
            case 0 -> {
                byte[][] bad = {{(byte) 0xFF}, {(byte) 0xC3}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {0}};
                byte[] ins = bad[rng.nextInt(bad.length)];
                yield new Variant(splice(text, at, 0, ins), "invalid UTF-8 " + Arrays.toString(ins) + " inserted at " + at);
            }
            case 1 -> new Variant(Arrays.copyOf(text, at), "text cut at " + at + " of " + text.length);
            case 2 -> {
                byte[] ins = {(byte) "{}[]\",:".charAt(rng.nextInt(7))};
                yield new Variant(splice(text, at, 0, ins), "'" + (char) ins[0] + "' inserted at " + at);
            }
            default -> new Variant(splice(text, at, 1, new byte[0]), "byte deleted at " + at);
        };
    }

    /** A random node of the document replaced: numbers at extremes, other dtypes, shapes and offsets, wrong types. */
    static Variant jsonNode(byte[] text, Random rng) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (Exception e) {
            return null;
        }
        List<JsonNode[]> slots = new ArrayList<>(); // {parent, node}
        List<String> paths = new ArrayList<>();
        collect(root, "$", slots, paths, 0);
        if (slots.isEmpty()) {
            return null;
        }
        int i = rng.nextInt(slots.size());
        JsonNode parent = slots.get(i)[0], node = slots.get(i)[1];
        String path = paths.get(i);
        JsonNode replacement;
        String what;
        if (node.isNumber()) {
            long[] big = {0, -1, 1, 0x8000_0000L, 0x7FFF_FFFFL, 0x1_0000_0000L, Long.MAX_VALUE, Long.MIN_VALUE};
            int k = rng.nextInt(big.length + 3);
            replacement = k < big.length ? F.numberNode(big[k]) : switch (k - big.length) {
                case 0 -> F.numberNode(new BigInteger("9223372036854775808"));
                case 1 -> F.numberNode(1e308);
                default -> F.numberNode(node.asDouble() + 1 + rng.nextInt(64));
            };
            what = "= " + replacement;
        } else if (node.isTextual()) {
            String[] choices = {DTYPES[rng.nextInt(DTYPES.length)], "", "x".repeat(1 + rng.nextInt(3)), "\uFFFF"};
            replacement = F.textNode(choices[rng.nextInt(choices.length)]);
            what = "= " + replacement;
        } else if (node.isArray() && rng.nextBoolean()) {
            ArrayNode a = ((ArrayNode) node).deepCopy();
            if (!a.isEmpty() && rng.nextBoolean()) {
                a.remove(rng.nextInt(a.size()));
                what = "one element removed";
            } else {
                a.add(a.isEmpty() ? F.numberNode(1) : a.get(rng.nextInt(a.size())).deepCopy());
                what = "one element duplicated";
            }
            replacement = a;
        } else {
            JsonNode[] other = {F.nullNode(), F.arrayNode(), F.objectNode(), F.textNode("7"), F.booleanNode(true), F.numberNode(-1)};
            replacement = other[rng.nextInt(other.length)];
            what = "= " + replacement;
        }
        if (parent instanceof ObjectNode o) {
            String key = path.substring(path.lastIndexOf('.') + 1);
            if (rng.nextInt(8) == 0) {
                o.remove(key);
                what = "removed";
            } else {
                o.set(key, replacement);
            }
        } else if (parent instanceof ArrayNode a) {
            int idx = Integer.parseInt(path.substring(path.lastIndexOf('[') + 1, path.length() - 1));
            a.set(idx, replacement);
        } else {
            return null;
        }
        try {
            return new Variant(JSON.writeValueAsBytes(root), path + " " + what);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every node below the root with its parent; long arrays contribute their first elements only (vocabularies). */
    private static void collect(JsonNode node, String path, List<JsonNode[]> slots, List<String> paths, int depth) {
        if (node.isObject()) {
            var it = node.properties().iterator();
            int n = 0;
            while (it.hasNext() && n++ < 64) {
                var e = it.next();
                String p = path + "." + e.getKey();
                slots.add(new JsonNode[] {node, e.getValue()});
                paths.add(p);
                collect(e.getValue(), p, slots, paths, depth + 1);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < Math.min(node.size(), 8); i++) {
                String p = path + "[" + i + "]";
                slots.add(new JsonNode[] {node, node.get(i)});
                paths.add(p);
                collect(node.get(i), p, slots, paths, depth + 1);
            }
        }
    }

    // ------------------------------------------------------------------ llama2.c tokenizer

    static Variant llama2cTokenizer(byte[] b, Random rng) {
        if (rng.nextInt(4) == 0 || b.length < 16) {
            return intField(b, 0, 4, rng, "tokenizer max_token_length");
        }
        // walk to a random piece's length field
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int target = rng.nextInt(512), p = 4;
        for (int i = 0; i < target && p + 8 <= b.length; i++) {
            int len = bb.getInt(p + 4);
            if (len < 0 || p + 8 + len > b.length) {
                break;
            }
            p += 8 + len;
        }
        if (p + 8 > b.length) {
            return null;
        }
        return rng.nextBoolean() ? intField(b, p + 4, 4, rng, "tokenizer piece length") : intField(b, p, 4, rng, "tokenizer piece score bits");
    }

    // ------------------------------------------------------------------ helpers

    static long le(byte[] b, int off, int width) {
        if (off + width > b.length) {
            return -1;
        }
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        return width == 8 ? bb.getLong(off) : bb.getInt(off);
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] c = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(insert, 0, c, at, insert.length);
        System.arraycopy(b, at + remove, c, at + insert.length, b.length - at - remove);
        return c;
    }
}

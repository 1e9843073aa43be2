package io.nashswarm.format.packed;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nashswarm.format.FormatException;
import io.nashswarm.format.ModelLoader;
import io.nashswarm.util.Progress;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/** Damaged and inconsistent packed files: each gives a FormatException naming the file and the problem. */
class PackedFileErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path file;
    byte[] good;

    @BeforeEach
    void write() throws IOException {
        file = dir.resolve("model.nsq");
        PackedModelWriter.write(TestModels.everyRecipe(TestModels.random(TestModels.LLAMA, 7)), TestModels.tinyTokenizer(dir),
                PackedModelRoundTripTest.provenance(), file, Progress.none());
        good = Files.readAllBytes(file);
    }

    static void assertFormatError(Path file, String problem, Executable action) {
        FormatException e = assertThrows(FormatException.class, action);
        assertTrue(e.getMessage().startsWith(file + ": "), () -> "message should name " + file + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), () -> "message should contain \"" + problem + "\": " + e.getMessage());
    }

    private void assertLoadFails(String problem) {
        assertFormatError(file, problem, () -> ModelLoader.load(file, null).close());
    }

    private void bytes(byte[] b) {
        try {
            Files.write(file, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private long headerLength() {
        return ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
    }

    /** The file with its header JSON edited and re-serialized; the data region is kept as it was. */
    private void editHeader(Consumer<ObjectNode> edit) {
        bytes(withHeader(good, edit));
    }

    /** {@code good} with its header JSON edited and re-serialized; the data region is kept as it was. */
    static byte[] withHeader(byte[] good, Consumer<ObjectNode> edit) {
        try {
            long h = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
            ObjectNode root = (ObjectNode) JSON.readTree(Arrays.copyOfRange(good, 16, (int) (16 + h)));
            edit.accept(root);
            byte[] json = JSON.writeValueAsBytes(root);
            long oldData = (16 + h + 63) / 64 * 64, newData = (16 + json.length + 63) / 64 * 64;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(Arrays.copyOf(good, 8));
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
            out.writeBytes(json);
            out.writeBytes(new byte[(int) (newData - 16 - json.length)]);
            out.writeBytes(Arrays.copyOfRange(good, (int) oldData, good.length));
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectNode tensor(ObjectNode root, String name) {
        for (JsonNode t : root.get("tensors")) {
            if (t.get("name").asText().equals(name)) {
                return (ObjectNode) t;
            }
        }
        throw new AssertionError("no tensor " + name);
    }

    /** The first tensor of the given type label (and group flags, or any flags when -1). */
    private static ObjectNode firstOfType(ObjectNode root, String type, int flags) {
        for (JsonNode t : root.get("tensors")) {
            if (t.get("type").asText().equals(type) && (flags < 0 || t.get("group").get("flags").asInt() == flags)) {
                return (ObjectNode) t;
            }
        }
        throw new AssertionError("no " + type + " tensor");
    }

    private static ObjectNode section(ObjectNode tensor, String name) {
        for (JsonNode s : tensor.get("sections")) {
            if (s.get("name").asText().equals(name)) {
                return (ObjectNode) s;
            }
        }
        throw new AssertionError("no section " + name);
    }

    @Test
    void theUntouchedFileLoads() {
        ModelLoader.load(file, null).close();
    }

    @Test
    void truncatedFiles() {
        bytes(Arrays.copyOf(good, 10));
        assertLoadFails("truncated: 10 bytes, shorter than the 16-byte preamble");
        bytes(Arrays.copyOf(good, 16 + (int) headerLength() / 2));
        assertLoadFails("runs past the end of the file");
        bytes(Arrays.copyOf(good, good.length - 1));
        assertLoadFails("lies outside the file");
        assertLoadFails("output.weight"); // the last tensor, cut short, is named
    }

    @Test
    void corruptHeaderJson() {
        byte[] b = good.clone();
        b[16] = (byte) '#'; // the opening brace
        bytes(b);
        assertLoadFails("corrupt header JSON");
        editHeader(root -> root.remove("tensors"));
        assertLoadFails("header has no 'tensors' array");
        editHeader(root -> ((ObjectNode) root.get("config")).remove("nKvHeads"));
        assertLoadFails("config has no 'nKvHeads'");
        editHeader(root -> ((ObjectNode) root.get("config")).put("nKvHeads", 3));
        assertLoadFails("config: invalid model configuration: 4 heads is not a multiple of 3 key/value heads");
    }

    @Test
    void absurdHeaderLengths() {
        for (long h : new long[] {1L << 40, -1, 0}) {
            byte[] b = good.clone();
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(8, h);
            bytes(b);
            assertLoadFails("is absurd");
        }
        byte[] b = good.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(8, good.length);
        bytes(b);
        assertLoadFails("header length " + good.length + " runs past the end of the file (" + good.length + " bytes)");
    }

    @Test
    void badMagicOrVersion() {
        byte[] b = good.clone();
        b[4] = 2;
        bytes(b);
        assertLoadFails("format version 2 is not supported (this engine reads version 1)");
        b = good.clone();
        b[0] = 'X';
        bytes(b);
        assertLoadFails("not a recognised model"); // no magic: not detected as a packed file at all
    }

    @Test
    void sectionsOutsideTheFile() {
        editHeader(root -> section(tensor(root, "blk.0.attn_q.weight"), "data").put("offset", 1L << 40));
        assertLoadFails("tensor blk.0.attn_q.weight: section 'data'");
        assertLoadFails("lies outside the file");
        editHeader(root -> section(firstOfType(root, "int4", -1), "codes").put("offset", 64 * ((good.length + 63) / 64)));
        assertLoadFails("lies outside the file");
        editHeader(root -> section(tensor(root, "blk.0.attn_k.weight"), "data").put("offset", 64 * 3 + 1));
        assertLoadFails("offset 193 is not a multiple of 64");
        editHeader(root -> section(tensor(root, "blk.0.attn_k.weight"), "data").put("offset", -64));
        assertLoadFails("section 'data' offset is -64");
    }

    @Test
    void overlappingSections() {
        editHeader(root -> {
            ObjectNode a = section(tensor(root, "blk.0.attn_norm.weight"), "data");
            ObjectNode b = section(tensor(root, "blk.0.ffn_norm.weight"), "data");
            b.put("offset", a.get("offset").asLong());
            b.put("crc32c", a.get("crc32c").asText());
        });
        assertLoadFails("overlap");
    }

    @Test
    void checksumMismatchNamesTensorAndSection() throws IOException {
        PackedHeader h = PackedModelRoundTripTest.header(file);
        TensorRecord t = h.tensors().stream().filter(r -> r.type().label().equals("int4") && r.spec().asymmetric()).findFirst().orElseThrow();
        TensorRecord.Section zeros = t.section("zeros");
        byte[] b = good.clone();
        b[(int) (h.dataOffset() + zeros.offset() + zeros.bytes() / 2)] ^= 0x10;
        bytes(b);
        assertLoadFails("checksum mismatch in tensor " + t.name() + ", section 'zeros'");
    }

    @Test
    void unknownQuantTypeLabel() {
        editHeader(root -> tensor(root, "blk.2.ffn_up.weight").put("type", "int5"));
        assertLoadFails("tensor blk.2.ffn_up.weight: unknown quant type label 'int5'");
    }

    @Test
    void sectionsMissingExtraOrMisSized() {
        editHeader(root -> {
            ObjectNode t = firstOfType(root, "int4", 1);
            ArrayNode s = (ArrayNode) t.get("sections");
            for (int i = 0; i < s.size(); i++) {
                if (s.get(i).get("name").asText().equals("zeros")) {
                    s.remove(i);
                }
            }
        });
        assertLoadFails("section 'zeros' is missing");
        editHeader(root -> ((ArrayNode) firstOfType(root, "nf4", -1).get("sections")).addObject()
                .put("name", "zeros").put("offset", 0).put("bytes", 8).put("crc32c", "00000000"));
        assertLoadFails("unexpected section 'zeros'");
        editHeader(root -> {
            ObjectNode codes = section(firstOfType(root, "int2", -1), "codes");
            codes.put("bytes", codes.get("bytes").asLong() + 1);
        });
        assertLoadFails("section 'codes' has");
        editHeader(root -> {
            ObjectNode data = section(tensor(root, "blk.0.attn_norm.weight"), "data");
            data.put("bytes", 60);
        });
        assertLoadFails("tensor blk.0.attn_norm.weight: section 'data' has 60 bytes, but a f32 tensor of this shape needs 256");
        // mixed: the header's counts decide the sizes; counts that do not add up to the groups are refused
        editHeader(root -> ((ObjectNode) firstOfType(root, "mixed", -1).get("mix")).put("groups8", 100000));
        assertLoadFails("groups but the counts add up to");
    }

    @Test
    void mixedCountsThatDisagreeWithTheMap() {
        // {8, 2, 2} and {4, 4, 4} bits: the same groups and code bits, so the same section sizes; only the map can tell.
        editHeader(root -> {
            ObjectNode mix = (ObjectNode) firstOfType(root, "mixed", 0).get("mix");
            mix.put("groups8", mix.get("groups8").asLong() - 1).put("groups2", mix.get("groups2").asLong() - 2)
                    .put("groups4", mix.get("groups4").asLong() + 3);
        });
        assertLoadFails("its width map counts");
    }

    @Test
    void groupSizeThatDoesNotDivideTheRow() {
        editHeader(root -> ((ObjectNode) firstOfType(root, "int4", -1).get("group")).put("size", 96));
        assertLoadFails("group size 96 does not divide the row length 64");
        editHeader(root -> ((ObjectNode) firstOfType(root, "int4", -1).get("group")).put("size", 48));
        assertLoadFails("group size 48 is not a positive multiple of 32");
        editHeader(root -> ((ObjectNode) firstOfType(root, "int4", -1).get("group")).put("flags", 8));
        assertLoadFails("unknown group spec flags 0x8");
    }

    @Test
    void shapeMismatchWithTheConfig() {
        editHeader(root -> {
            ArrayNode shape = (ArrayNode) tensor(root, "blk.0.attn_q.weight").get("shape"); // f16 64x64
            shape.set(0, 32);
            shape.set(1, 128);
        });
        assertLoadFails("tensor blk.0.attn_q.weight has shape [32, 128] but the config implies [64, 64]");
        editHeader(root -> ((ObjectNode) root.get("config")).put("hiddenDim", 96));
        assertLoadFails("but the config implies [96, 64]");
        editHeader(root -> {
            ArrayNode tensors = (ArrayNode) root.get("tensors");
            for (int i = 0; i < tensors.size(); i++) {
                if (tensors.get(i).get("name").asText().equals("blk.2.ffn_norm.weight")) {
                    tensors.remove(i);
                }
            }
        });
        assertLoadFails("missing tensor blk.2.ffn_norm.weight");
        editHeader(root -> tensor(root, "blk.2.ffn_norm.weight").put("name", "blk.3.ffn_norm.weight"));
        assertLoadFails("missing tensor blk.2.ffn_norm.weight");
        editHeader(root -> ((ObjectNode) root.get("config")).put("tiedEmbeddings", true));
        assertLoadFails("unexpected tensor output.weight");
    }

    /** Files written before ropeFreqFactors existed have no such key: they load without RoPE scaling. Bad values are named. */
    @Test
    void ropeFreqFactorsAreOptionalAndChecked() {
        editHeader(root -> ((ObjectNode) root.get("config")).remove("ropeFreqFactors"));
        try (var m = ModelLoader.load(file, null)) {
            assertNull(m.weights().config().ropeFreqFactors());
        }
        editHeader(root -> ((ObjectNode) root.get("config")).put("ropeFreqFactors", "none"));
        assertLoadFails("config.ropeFreqFactors is not an array");
        editHeader(root -> ((ObjectNode) root.get("config")).putArray("ropeFreqFactors").add(1.0).add(2.0));
        assertLoadFails("2 RoPE frequency factors for head size");
    }

    @Test
    void corruptTokenizerIsNamed() {
        editHeader(root -> ((ObjectNode) root.get("tokenizer")).put("tokenizer.ggml.model", "wordpiece"));
        assertLoadFails("tokenizer.ggml.model 'wordpiece' is not supported");
    }
}

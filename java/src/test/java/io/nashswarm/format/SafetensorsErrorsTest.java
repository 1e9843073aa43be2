package io.nashswarm.format;

import io.nashswarm.format.Fixtures.Written;
import io.nashswarm.format.safetensors.SafetensorsDtype;
import io.nashswarm.format.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.nashswarm.format.Fixtures.assertFormatError;
import static io.nashswarm.format.HfCheckpoints.*;
import static org.junit.jupiter.api.Assertions.*;

/** Broken Hugging Face checkpoints: each gives a FormatException naming the file and the problem. */
class SafetensorsErrorsTest {
    @TempDir
    Path dir;

    /** A safetensors file with a hand-written header (padded to 8) followed by {@code dataBytes} zero bytes. */
    private Path rawSafetensors(String name, String headerJson, int dataBytes) {
        byte[] json = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path f = dir.resolve(name);
        Fixtures.writeBytes(f, b.array());
        return f;
    }

    private static SafetensorsFile parse(Path f) {
        try (Arena arena = Arena.ofConfined()) {
            return SafetensorsFile.parse(f, MappedFiles.map(f, arena));
        }
    }

    @Test
    void writerOutputFollowsTheSpecification() {
        Path f = dir.resolve("w.safetensors");
        new io.nashswarm.format.safetensors.SafetensorsWriter()
                .metadata("format", "pt")
                .add("b", SafetensorsDtype.F16, new long[] {3}, new byte[] {0, 60, 0, 64, 0, 66})   // 1, 2, 3 in fp16
                .add("a", SafetensorsDtype.F32, new long[] {1, 2}, Fixtures.encode(new float[] {1f, -1f}, SafetensorsDtype.F32))
                .write(f);
        byte[] all = Fixtures.readAll(f);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[6,14]}}", header.stripTrailing());
        assertEquals(8 + n + 14, all.length);
        SafetensorsFile st = parse(f);
        assertEquals(Map.of("format", "pt"), st.metadata());
        assertArrayEquals(new long[] {1, 2}, st.entries().get("a").shape());
    }

    @Test
    void truncatedFile() {
        writeLlama(dir, new Random(1), SafetensorsDtype.F32, false);
        Path f = dir.resolve("model.safetensors");
        byte[] b = Fixtures.readAll(f);
        Fixtures.writeBytes(f, Arrays.copyOf(b, b.length - 10));
        assertFormatError(f, "go beyond the data section", () -> ModelLoader.load(dir, null));
        Fixtures.writeBytes(f, Arrays.copyOf(b, 200));
        assertFormatError(f, "goes beyond the end of the file", () -> ModelLoader.load(dir, null));
    }

    @Test
    void headerLengthBeyondTheFileOrAbsurd() {
        Path f = dir.resolve("h.safetensors");
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(1000).put((byte) '{');
        Fixtures.writeBytes(f, b.array());
        assertFormatError(f, "safetensors header length 1000 goes beyond the end of the file (64 bytes)", () -> parse(f));
        b.putLong(0, 200L << 20);
        Fixtures.writeBytes(f, b.array());
        assertFormatError(f, "safetensors header length 209715200 is not plausible", () -> parse(f));
        b.putLong(0, -5L);
        Fixtures.writeBytes(f, b.array());
        assertFormatError(f, "is not plausible", () -> parse(f));
    }

    @Test
    void headerNotJson() {
        Path f = rawSafetensors("j.safetensors", "{\"a\": {\"dtype\": \"F32\", ", 0);
        assertFormatError(f, "safetensors header is not valid JSON", () -> parse(f));
        Path g = rawSafetensors("k.safetensors", "[1, 2]  ", 0);
        assertFormatError(g, "safetensors header is not a JSON object", () -> parse(g));
        Path dup = rawSafetensors("d.safetensors", "{\"a\": {}, \"a\": {}}", 0);
        assertFormatError(dup, "not valid JSON", () -> parse(dup));
    }

    @Test
    void badOffsets() {
        Path outside = rawSafetensors("o.safetensors",
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 16);
        assertFormatError(outside, "tensor a: data_offsets [8, 24] go beyond the data section (16 bytes)", () -> parse(outside));
        Path overlap = rawSafetensors("v.safetensors",
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
                        + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", 16);
        assertFormatError(overlap, "tensors a and b overlap", () -> parse(overlap));
        Path wrongSize = rawSafetensors("s.safetensors",
                "{\"a\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 16);
        assertFormatError(wrongSize, "tensor a: data_offsets [0, 16] hold 16 bytes but F16 [4] needs 8", () -> parse(wrongSize));
        Path negative = rawSafetensors("n.safetensors",
                "{\"a\": {\"dtype\": \"F16\", \"shape\": [-4], \"data_offsets\": [0, 8]}}", 16);
        assertFormatError(negative, "shape holds -4, not a non-negative integer", () -> parse(negative));
        Path huge = rawSafetensors("u.safetensors",
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [9223372036854775807, 4], \"data_offsets\": [0, 8]}}", 16);
        assertFormatError(huge, "is too large", () -> parse(huge));
        // the order in the JSON does not matter, only the byte ranges
        Path unsorted = rawSafetensors("x.safetensors",
                "{\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]},"
                        + " \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 16);
        assertEquals(2, parse(unsorted).entries().size());
    }

    @Test
    void unknownAndUnsupportedDtypes() {
        Path f = rawSafetensors("t.safetensors", "{\"a\": {\"dtype\": \"F9\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8);
        assertFormatError(f, "unknown dtype F9 in tensor a", () -> parse(f));

        List<Written> t = new ArrayList<>(llamaTensors(new Random(2), SafetensorsDtype.F32, false));
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        io.nashswarm.format.safetensors.SafetensorsWriter w = new io.nashswarm.format.safetensors.SafetensorsWriter();
        for (Written x : t) {
            boolean norm = x.name().equals("model.norm.weight");
            w.add(x.name(), norm ? SafetensorsDtype.I32 : SafetensorsDtype.F32, x.shape(),
                    Fixtures.encode(x.values(), SafetensorsDtype.F32));
        }
        w.write(dir.resolve("model.safetensors"));
        assertFormatError(dir.resolve("model.safetensors"), "unsupported dtype I32 in tensor model.norm.weight", () -> ModelLoader.load(dir, null));
    }

    @Test
    void shapeMismatchWithConfigJson() {
        List<Written> t = new ArrayList<>(llamaTensors(new Random(3), SafetensorsDtype.F32, false));
        t.replaceAll(x -> x.name().equals("model.layers.1.self_attn.k_proj.weight")
                ? Fixtures.tensor(new Random(4), SafetensorsDtype.F32, x.name(), L_DIM, L_DIM) : x);
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, t);
        assertFormatError(dir.resolve("model.safetensors"),
                "tensor model.layers.1.self_attn.k_proj.weight has shape [16, 16] but config.json implies [8, 16]",
                () -> ModelLoader.load(dir, null));
    }

    @Test
    void conv1dShapeIsCheckedInItsStoredOrientation() {
        List<Written> t = new ArrayList<>(gpt2Tensors(new Random(5), SafetensorsDtype.F32, "transformer.", false));
        // a c_fc saved [out][in] (as nn.Linear would) instead of Conv1D's [in][out]
        t.replaceAll(x -> x.name().equals("transformer.h.0.mlp.c_fc.weight")
                ? Fixtures.tensor(new Random(6), SafetensorsDtype.F32, x.name(), G_HIDDEN, G_DIM) : x);
        Fixtures.writeString(dir.resolve("config.json"), gpt2Config());
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, t);
        assertFormatError(dir.resolve("model.safetensors"),
                "tensor transformer.h.0.mlp.c_fc.weight has shape [32, 8] but config.json implies [8, 32]",
                () -> ModelLoader.load(dir, null));
    }

    @Test
    void missingAndUnexpectedTensors() {
        List<Written> t = new ArrayList<>(llamaTensors(new Random(7), SafetensorsDtype.F32, true));
        t.removeIf(x -> x.name().equals("model.layers.1.mlp.up_proj.weight"));
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, t);
        assertFormatError(dir.resolve("model.safetensors"), "missing tensor model.layers.1.mlp.up_proj.weight", () -> ModelLoader.load(dir, null));

        List<Written> u = new ArrayList<>(llamaTensors(new Random(7), SafetensorsDtype.F32, true));
        u.add(Fixtures.tensor(new Random(8), SafetensorsDtype.F32, "model.layers.0.self_attn.q_proj.bias", L_DIM));
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, u);
        assertFormatError(dir.resolve("model.safetensors"), "unexpected tensor model.layers.0.self_attn.q_proj.bias", () -> ModelLoader.load(dir, null));

        // untied config but no lm_head
        Fixtures.writeSafetensors(dir.resolve("model.safetensors"), SafetensorsDtype.F32, llamaTensors(new Random(9), SafetensorsDtype.F32, false));
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        assertFormatError(dir.resolve("model.safetensors"), "missing tensor lm_head.weight", () -> ModelLoader.load(dir, null));
    }

    @Test
    void missingShardAndBadIndex() {
        List<Written> all = llamaTensors(new Random(10), SafetensorsDtype.F32, true);
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        Fixtures.writeSafetensors(dir.resolve("model-00001-of-00002.safetensors"), SafetensorsDtype.F32, all.subList(0, 5));
        StringBuilder map = new StringBuilder();
        for (int i = 0; i < all.size(); i++) {
            map.append(i == 0 ? "" : ",").append('"').append(all.get(i).name()).append("\": \"model-0000")
                    .append(i < 5 ? 1 : 2).append("-of-00002.safetensors\"");
        }
        Path index = dir.resolve("model.safetensors.index.json");
        Fixtures.writeString(index, "{\"weight_map\": {" + map + "}}");
        assertFormatError(index, "shard model-00002-of-00002.safetensors listed in weight_map is missing", () -> ModelLoader.load(dir, null));

        Fixtures.writeSafetensors(dir.resolve("model-00002-of-00002.safetensors"), SafetensorsDtype.F32, all.subList(6, all.size()));
        assertFormatError(dir.resolve("model-00002-of-00002.safetensors"),
                "tensor " + all.get(5).name() + " is listed for this shard in model.safetensors.index.json but is not in it",
                () -> ModelLoader.load(dir, null));

        Fixtures.writeString(index, "{\"weight_map\": {\"model.norm.weight\": \"../escape.safetensors\"}}");
        assertFormatError(index, "is not a file in the checkpoint directory", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(index, "{\"metadata\": {}}");
        assertFormatError(index, "no weight_map object", () -> ModelLoader.load(dir, null));
    }

    @Test
    void configJsonProblems() {
        writeLlama(dir, new Random(11), SafetensorsDtype.F32, false);
        Path config = dir.resolve("config.json");
        Fixtures.writeString(config, llamaConfig(false, ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}")
                .replace("\"rope_scaling\": null,", ""));
        assertFormatError(config, "rope_scaling {\"type\":\"linear\",\"factor\":2.0} is not supported", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, llamaConfig(false, ", \"head_dim\": 8"));
        assertFormatError(config, "head_dim 8 differs from hidden_size / num_attention_heads = 4", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, llamaConfig(false, "").replace("\"hidden_size\": 16,", ""));
        assertFormatError(config, "missing field hidden_size", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, llamaConfig(false, "").replace("\"hidden_size\": 16", "\"hidden_size\": \"16\""));
        assertFormatError(config, "field hidden_size must be an integer", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, llamaConfig(false, "").replace("\"model_type\": \"llama\"", "\"model_type\": \"mistral\""));
        assertFormatError(config, "unsupported model_type mistral (supported: gpt2, llama)", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, llamaConfig(false, "").replace("\"silu\"", "\"gelu\""));
        assertFormatError(config, "hidden_act gelu is not supported", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, llamaConfig(false, ", \"attention_bias\": true").replace("\"attention_bias\": false,", ""));
        assertFormatError(config, "attention_bias is not supported", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, "{not json");
        assertFormatError(config, "not valid JSON", () -> ModelLoader.load(dir, null));
        Fixtures.writeString(config, gpt2Config().replace("\"gelu_new\"", "\"relu\""));
        assertFormatError(config, "activation_function relu is not supported", () -> ModelLoader.load(dir, null));
    }

    @Test
    void weightFilesThatAreNotThere() throws Exception {
        Fixtures.writeString(dir.resolve("config.json"), llamaConfig(false, ""));
        assertFormatError(dir, "no model.safetensors or model.safetensors.index.json found", () -> ModelLoader.load(dir, null));
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        assertFormatError(dir, "PyTorch .bin checkpoints are not supported", () -> ModelLoader.load(dir, null));
        Path lone = dir.resolve("lone");
        Files.createDirectory(lone);
        Fixtures.writeSafetensors(lone.resolve("w.safetensors"), SafetensorsDtype.F32, llamaTensors(new Random(12), SafetensorsDtype.F32, false));
        assertFormatError(lone.resolve("w.safetensors"), "no config.json beside it", () -> ModelLoader.load(lone.resolve("w.safetensors"), null));
    }
}

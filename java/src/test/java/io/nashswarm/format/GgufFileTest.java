package io.nashswarm.format;

import io.nashswarm.format.gguf.GgufArray;
import io.nashswarm.format.gguf.GgufFile;
import io.nashswarm.format.gguf.GgufTensorInfo;
import io.nashswarm.format.gguf.GgufType;
import io.nashswarm.format.gguf.GgufValue;
import io.nashswarm.format.gguf.GgufWriter;
import io.nashswarm.tensor.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class GgufFileTest {
    @TempDir
    Path dir;

    /** One key of every GGUF value type, nested arrays included, built byte by byte. */
    private static GgufBytes everyType(int version) {
        return new GgufBytes().header(version, 0, 14)
                .str("u8").u32(0).u8(200)
                .str("i8").u32(1).u8(0xFB)                      // -5
                .str("u16").u32(2).u16(60000)
                .str("i16").u32(3).u16(0xFED4)                  // -300
                .str("u32").u32(4).u32(4_000_000_000L)
                .str("i32").u32(5).u32(0xFFFFFFF9L)             // -7
                .str("f32").u32(6).f32(1.5f)
                .str("bool").u32(7).u8(1)
                .str("string").u32(8).str("héllo")
                .str("strings").u32(9).u32(8).u64(2).str("a").str("")
                .str("u64").u32(10).u64(-1L)                    // 2^64 − 1 keeps its bits
                .str("i64").u32(11).u64(-9_000_000_000L)
                .str("f64").u32(12).u64(Double.doubleToRawLongBits(0.25))
                .str("nested").u32(9).u32(9).u64(2)             // array of arrays of int32
                .u32(5).u64(2).u32(1).u32(2)
                .u32(5).u64(0);
    }

    @Test
    void metadataOfEveryTypeDecodesAsDocumented() {
        Path f = dir.resolve("types.gguf");
        Fixtures.writeBytes(f, everyType(3).bytes());
        GgufFile g = GgufFile.read(f);
        Map<String, Object> m = g.metadata();
        assertEquals(200, m.get("u8"));
        assertEquals(-5, m.get("i8"));
        assertEquals(60000, m.get("u16"));
        assertEquals(-300, m.get("i16"));
        assertEquals(4_000_000_000L, m.get("u32"));
        assertEquals(-7, m.get("i32"));
        assertEquals(1.5f, m.get("f32"));
        assertEquals(Boolean.TRUE, m.get("bool"));
        assertEquals("héllo", m.get("string"));
        assertEquals(List.of("a", ""), m.get("strings"));
        assertEquals(-1L, m.get("u64"));
        assertEquals(-9_000_000_000L, m.get("i64"));
        assertEquals(0.25, m.get("f64"));
        assertEquals(List.of(List.of(1, 2), List.of()), m.get("nested"));
        assertEquals(List.copyOf(m.keySet()), List.of("u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
                "strings", "u64", "i64", "f64", "nested"), "file order is kept");
        assertEquals(GgufType.UINT32, g.entries().get("u32").type());
        assertEquals(3, g.version());
        assertTrue(g.tensors().isEmpty());
    }

    @Test
    void versionTwoIsAccepted() {
        Path f = dir.resolve("v2.gguf");
        Fixtures.writeBytes(f, everyType(2).bytes());
        assertEquals(2, GgufFile.read(f).version());
    }

    @Test
    void writerRoundTripsEveryTypeWithItsType() {
        Path f = dir.resolve("rt.gguf");
        GgufWriter w = new GgufWriter()
                .put("u8", GgufValue.uint8(200)).put("i8", GgufValue.int8(-5)).put("u16", GgufValue.uint16(60000))
                .put("i16", GgufValue.int16(-300)).put("u32", GgufValue.uint32(4_000_000_000L)).put("i32", GgufValue.int32(-7))
                .put("f32", GgufValue.float32(1.5f)).put("bool", GgufValue.bool(false)).put("s", GgufValue.string("x y"))
                .put("u64", GgufValue.uint64(-1L)).put("i64", GgufValue.int64(-9L)).put("f64", GgufValue.float64(0.25))
                .put("strings", GgufValue.strings(List.of("<s>", "</s>")))
                .put("floats", GgufValue.array(GgufType.FLOAT32, List.of(0.5f, -1f)))
                .put("nested", GgufValue.array(GgufType.ARRAY, List.of(new GgufArray(GgufType.UINT8, List.of(1, 2)))));
        w.write(f);
        GgufFile g = GgufFile.read(f);
        assertEquals(15, g.entries().size());
        GgufWriter copy = new GgufWriter().putAll(g.entries());
        Path f2 = dir.resolve("copy.gguf");
        copy.write(f2);
        assertArrayEquals(Fixtures.readAll(f), Fixtures.readAll(f2), "copying the entries reproduces the file byte for byte");
        assertEquals(new GgufValue(GgufType.UINT32, 4_000_000_000L), g.entries().get("u32"));
        assertEquals(List.of(List.of(1, 2)), g.metadata().get("nested"));
        assertEquals(List.of(0.5f, -1f), g.metadata().get("floats"));
    }

    @Test
    void writerOutputMatchesTheSpecificationByteForByte() {
        float[] values = {1f, -2f, 0.5f, 3f, 4f, 5f};
        byte[] data = Fixtures.encode(values, io.nashswarm.format.safetensors.SafetensorsDtype.F32);
        Path f = dir.resolve("w.gguf");
        new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("llama.block_count", GgufValue.uint32(2))
                .addMatrix("a", QuantType.F32, 2, 3, MemorySegment.ofArray(data))
                .addTensor("b", QuantType.F32, new long[] {2}, MemorySegment.ofArray(java.util.Arrays.copyOf(data, 8)))
                .write(f);
        GgufBytes hand = new GgufBytes().header(3, 2, 2)
                .kvString("general.architecture", "llama")
                .kvU32("llama.block_count", 2)
                .tensor("a", 0, 0, 3, 2)
                .tensor("b", 0, 32, 2)                        // 24 bytes of "a" padded to 32
                .padTo(32).raw(data).padTo(32).raw(java.util.Arrays.copyOf(data, 8)).padTo(32);
        assertArrayEquals(hand.bytes(), Fixtures.readAll(f));
        GgufFile g = GgufFile.read(f);
        GgufTensorInfo a = g.tensor("a").orElseThrow();
        assertArrayEquals(new long[] {3, 2}, a.ne());
        assertEquals(24, a.bytes());
        assertEquals(0, g.dataOffset() % 32);
    }

    @Test
    void customAlignmentIsHonoured() {
        Path f = dir.resolve("a64.gguf");
        new GgufWriter().put("general.alignment", GgufValue.uint32(64))
                .addTensor("x", QuantType.F32, new long[] {3}, MemorySegment.ofArray(new byte[12]))
                .addTensor("y", QuantType.F32, new long[] {5}, MemorySegment.ofArray(new byte[20]))
                .write(f);
        GgufFile g = GgufFile.read(f);
        assertEquals(64, g.alignment());
        assertEquals(0, g.dataOffset() % 64);
        assertEquals(64, g.tensor("y").orElseThrow().offset());
    }

    @Test
    void failedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path f = dir.resolve("keep.gguf");
        Fixtures.writeBytes(f, new byte[] {1, 2, 3});
        GgufWriter w = new GgufWriter().addTensor("x", QuantType.F32, new long[] {4}, () -> {
            throw new IllegalStateException("quantizer failed");
        });
        assertThrows(IllegalStateException.class, () -> w.write(f));
        assertArrayEquals(new byte[] {1, 2, 3}, Fixtures.readAll(f));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f), s.toList());
        }
        // a lazily supplied tensor of the wrong size is refused too
        GgufWriter bad = new GgufWriter().addTensor("x", QuantType.F32, new long[] {4}, () -> MemorySegment.ofArray(new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> bad.write(f));
        assertArrayEquals(new byte[] {1, 2, 3}, Fixtures.readAll(f));
    }
}

package io.nashswarm.format;

import io.nashswarm.format.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static io.nashswarm.format.Fixtures.assertFormatError;

/** Corrupt GGUF files, built byte by byte: each must give a FormatException naming the file and the problem. */
class GgufErrorsTest {
    @TempDir
    Path dir;

    private Path file(byte[] b) {
        Path f = dir.resolve("bad.gguf");
        Fixtures.writeBytes(f, b);
        return f;
    }

    /** A valid file: one key, one 4×2 f32 tensor "t". */
    private static GgufBytes valid() {
        return new GgufBytes().header(3, 1, 1).kvString("general.architecture", "llama")
                .tensor("t", 0, 0, 4, 2).padTo(32).raw(new byte[32]);
    }

    @Test
    void validBaselineParses() {
        GgufFile.read(file(valid().bytes()));
    }

    @Test
    void badMagic() {
        byte[] b = valid().bytes();
        b[0] = 'X';
        Path f = file(b);
        assertFormatError(f, "not a GGUF file (bad magic", () -> GgufFile.read(f));
        assertFormatError(f, "not a recognised model", () -> ModelLoader.load(f, null));
    }

    @Test
    void unsupportedVersions() {
        Path v1 = file(new GgufBytes().header(1, 0, 0).bytes());
        assertFormatError(v1, "GGUF version 1 is not supported", () -> GgufFile.read(v1));
        Path v9 = file(new GgufBytes().header(9, 0, 0).bytes());
        assertFormatError(v9, "unsupported GGUF version 9", () -> GgufFile.read(v9));
        Path be = file(new GgufBytes().header(0x03000000, 0, 0).bytes());
        assertFormatError(be, "big-endian", () -> GgufFile.read(be));
    }

    @Test
    void truncatedInTheHeaderOrTheData() {
        byte[] b = valid().bytes();
        Path f = file(Arrays.copyOf(b, 40));
        assertFormatError(f, "truncated", () -> GgufFile.read(f));
        Path g = file(Arrays.copyOf(b, b.length - 1));
        assertFormatError(g, "tensor t data (32 bytes at offset", () -> GgufFile.read(g));
        assertFormatError(g, "lies outside the file", () -> ModelLoader.load(g, null));
        Path h = file(Arrays.copyOf(b, 10));
        assertFormatError(h, "truncated", () -> GgufFile.read(h));
    }

    @Test
    void absurdCounts() {
        Path t = file(new GgufBytes().header(3, 1L << 40, 0).raw(new byte[64]).bytes());
        assertFormatError(t, "tensor count 1099511627776 is more than the file could hold", () -> GgufFile.read(t));
        Path k = file(new GgufBytes().header(3, 0, -1L).raw(new byte[64]).bytes());
        assertFormatError(k, "metadata count 18446744073709551615 is more than the file could hold", () -> GgufFile.read(k));
    }

    @Test
    void stringAndArrayLengthsBeyondTheFile() {
        Path s = file(new GgufBytes().header(3, 0, 1).u64(1L << 50).raw(new byte[16]).bytes());
        assertFormatError(s, "goes beyond the end of the file", () -> GgufFile.read(s));
        Path v = file(new GgufBytes().header(3, 0, 1).str("k").u32(8).u64(100).raw("short".getBytes()).bytes());
        assertFormatError(v, "the length of metadata k (100 bytes) goes beyond the end of the file", () -> GgufFile.read(v));
        Path a = file(new GgufBytes().header(3, 0, 1).str("tokens").u32(9).u32(8).u64(1_000_000).str("a").bytes());
        assertFormatError(a, "metadata tokens claims 1000000 STRING elements, more than the file could hold", () -> GgufFile.read(a));
        Path n = file(new GgufBytes().header(3, 0, 1).str("k").u32(9).u32(77).u64(0).bytes());
        assertFormatError(n, "array of unknown type 77", () -> GgufFile.read(n));
        Path bool = file(new GgufBytes().header(3, 0, 1).str("k").u32(7).u8(2).bytes());
        assertFormatError(bool, "not a bool", () -> GgufFile.read(bool));
        Path type = file(new GgufBytes().header(3, 0, 1).str("k").u32(13).u8(2).bytes());
        assertFormatError(type, "metadata k has unknown value type 13", () -> GgufFile.read(type));
    }

    @Test
    void tooManyDimensions() {
        Path f = file(new GgufBytes().header(3, 1, 0).tensor("t", 0, 0, 1, 1, 1, 1, 1).padTo(32).raw(new byte[32]).bytes());
        assertFormatError(f, "tensor t has 5 dimensions (GGUF allows 1 to 4)", () -> GgufFile.read(f));
    }

    @Test
    void tensorDataOutsideTheFile() {
        Path f = file(new GgufBytes().header(3, 1, 0).tensor("t", 0, 1L << 40, 4, 2).padTo(32).raw(new byte[32]).bytes());
        assertFormatError(f, "tensor t data (32 bytes at offset", () -> GgufFile.read(f));
        Path huge = file(new GgufBytes().header(3, 1, 0).tensor("t", 0, 0, 1L << 40, 1L << 40).padTo(32).bytes());
        assertFormatError(huge, "tensor t is impossibly large", () -> GgufFile.read(huge));
        Path misaligned = file(new GgufBytes().header(3, 1, 0).tensor("t", 0, 4, 4, 2).padTo(32).raw(new byte[64]).bytes());
        assertFormatError(misaligned, "not a multiple of the alignment 32", () -> GgufFile.read(misaligned));
    }

    @Test
    void overlappingTensors() {
        Path f = file(new GgufBytes().header(3, 2, 0).tensor("a", 0, 0, 16).tensor("b", 0, 32, 16).padTo(32).raw(new byte[96]).bytes());
        assertFormatError(f, "tensors a and b overlap", () -> GgufFile.read(f));
    }

    @Test
    void unknownAndUnsupportedTensorTypes() {
        Path unknown = file(new GgufBytes().header(3, 1, 0).tensor("t", 99, 0, 32).padTo(32).raw(new byte[64]).bytes());
        assertFormatError(unknown, "unknown ggml type 99 in tensor t", () -> GgufFile.read(unknown));
        Path iq2 = file(new GgufBytes().header(3, 1, 0).tensor("blk.0.attn_q.weight", 16, 0, 256, 1).padTo(32).raw(new byte[160]).bytes());
        assertFormatError(iq2, "unsupported type IQ2_XXS in tensor blk.0.attn_q.weight", () -> GgufFile.read(iq2));
        assertFormatError(iq2, "unsupported type IQ2_XXS in tensor blk.0.attn_q.weight", () -> ModelLoader.load(iq2, null));
        Path partialBlock = file(new GgufBytes().header(3, 1, 0).tensor("t", 8, 0, 16, 2).padTo(32).raw(new byte[96]).bytes());
        assertFormatError(partialBlock, "tensor t has 16 columns, not a multiple of the q8_0 block size 32", () -> GgufFile.read(partialBlock));
    }

    @Test
    void duplicatesAndBadAlignment() {
        Path keys = file(new GgufBytes().header(3, 0, 2).kvU32("k", 1).kvU32("k", 2).bytes());
        assertFormatError(keys, "metadata key k appears twice", () -> GgufFile.read(keys));
        Path names = file(new GgufBytes().header(3, 2, 0).tensor("t", 0, 0, 8).tensor("t", 0, 32, 8).padTo(32).raw(new byte[64]).bytes());
        assertFormatError(names, "tensor t appears twice", () -> GgufFile.read(names));
        Path align = file(new GgufBytes().header(3, 0, 1).kvU32("general.alignment", 48).bytes());
        assertFormatError(align, "general.alignment 48 is not a power of two", () -> GgufFile.read(align));
    }
}

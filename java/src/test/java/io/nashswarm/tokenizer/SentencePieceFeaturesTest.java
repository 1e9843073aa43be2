package io.nashswarm.tokenizer;

import io.nashswarm.format.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SentencePiece features Llama 2 does not use (no byte fallback, remove_extra_whitespaces,
 * user-defined and unused pieces, characters that exist only inside pieces), on a tiny
 * tokenizer.model written here. Expected ids were worked out by hand from SentencePiece's rules and
 * confirmed with Google's sentencepiece 0.2.2 on the same ModelProto.
 */
class SentencePieceFeaturesTest {
    @TempDir
    Path dir;

    /** Just enough of a protobuf writer for a ModelProto. */
    static final class Proto {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long v) {
            raw(field << 3);
            raw(v);
            return this;
        }

        Proto bytes(int field, byte[] b) {
            raw(field << 3 | 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        Proto string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return bytes(field, m.out.toByteArray());
        }

        Proto float32(int field, float f) {
            raw(field << 3 | 5);
            int bits = Float.floatToIntBits(f);
            for (int i = 0; i < 4; i++) {
                out.write(bits >>> (8 * i));
            }
            return this;
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) (v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }
    }

    // id: piece, score, type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused)
    private static final Object[][] PIECES = {
            {"<unk>", 0f, 2}, {"<s>", 0f, 3}, {"</s>", 0f, 3}, {"▁", -1f, 1}, {"a", -2f, 1}, {"b", -3f, 1},
            {"ab", -0.5f, 1}, {"▁ab", -0.7f, 1}, {"ba", -0.1f, 1}, {"<sep>", 0f, 4}, {"c", -4f, 1},
            {"qc", -0.2f, 1}, {"cc", -0.05f, 5}};

    private Tokenizer model(int modelType, boolean withCharsmap) throws IOException {
        Proto m = new Proto();
        for (Object[] p : PIECES) {
            m.message(1, new Proto().string(1, (String) p[0]).float32(2, (Float) p[1]).varint(3, (Integer) p[2]));
        }
        m.message(2, new Proto().varint(3, modelType).varint(4, PIECES.length).varint(35, 0));
        Proto normalizer = new Proto().string(1, "identity").varint(3, 1).varint(4, 1);
        if (withCharsmap) {
            normalizer.bytes(2, new byte[] {1, 2, 3});
        }
        m.message(3, normalizer);
        Path file = Files.write(dir.resolve("tokenizer.model"), m.out.toByteArray());
        return Tokenizers.load(file);
    }

    @Test
    void handWorkedEncodings() throws IOException {
        Tokenizer t = model(2, false);
        assertArrayEquals(new int[] {3, 4, 8}, t.encode("aba"));       // "ba" (-0.1) beats "ab" (-0.5)
        assertArrayEquals(new int[] {7}, t.encode("ab"));              // ▁ a b → ▁ ab → ▁ab
        assertArrayEquals(new int[] {7, 7}, t.encode("  ab   ab  "));  // remove_extra_whitespaces
        assertArrayEquals(new int[] {3, 0}, t.encode("xyz"));          // no byte fallback: one <unk> for the run
        assertArrayEquals(new int[] {3, 4, 0, 5}, t.encode("axyb"));
        assertArrayEquals(new int[] {3, 4, 9, 5}, t.encode("a<sep>b")); // user-defined piece taken whole
        assertArrayEquals(new int[] {7, 9, 8}, t.encode("ab<sep>ba"));  // ... and never merged with neighbours
        assertArrayEquals(new int[] {3, 11}, t.encode("qc"));          // "q" exists only inside "qc"
        assertArrayEquals(new int[] {3, 0}, t.encode("q"));            // ... and alone it is unknown
        assertArrayEquals(new int[] {3, 10, 10}, t.encode("cc"));      // unused "cc" is split back
        assertArrayEquals(new int[] {3, 10, 10, 10}, t.encode("ccc"));
        assertEquals("ab ab", t.decode(new int[] {7, 7}));
        assertEquals("a<sep>b", t.decode(t.encode("a<sep>b")));
        assertEquals(" \u2047 ", t.decode(new int[] {3, 0}));           // <unk> renders as SentencePiece's " ⁇ "
    }

    @Test
    void unsupportedModelsAreRefusedClearly() throws IOException {
        FormatException unigram = assertThrows(FormatException.class, () -> model(1, false));
        assertTrue(unigram.getMessage().contains("UNIGRAM"), unigram.getMessage());
        FormatException charsmap = assertThrows(FormatException.class, () -> model(2, true));
        assertTrue(charsmap.getMessage().contains("identity"), charsmap.getMessage());
    }
}

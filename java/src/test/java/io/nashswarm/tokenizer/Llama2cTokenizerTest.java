package io.nashswarm.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llama2.c tokenizer.bin files: the Llama 2 export and aidreams260K's own 512-token tok512.bin. */
class Llama2cTokenizerTest {

    /**
     * An independent, deliberately naive transcription of llama2.c run.c's encode() (written from
     * its description, not from the code under test): strings and a quadratic rescan per merge.
     */
    static final class RunCReference {
        final List<String> vocab = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        final Map<String, Integer> lookup = new HashMap<>();

        RunCReference(Path file) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            b.getInt(); // max_token_length
            while (b.hasRemaining()) {
                scores.add(b.getFloat());
                byte[] s = new byte[b.getInt()];
                b.get(s);
                vocab.add(new String(s, StandardCharsets.UTF_8));
                lookup.putIfAbsent(vocab.getLast(), vocab.size() - 1);
            }
        }

        int[] encode(String text) {
            List<Integer> tokens = new ArrayList<>();
            if (!text.isEmpty()) {
                tokens.add(lookup.get(" "));
            }
            text.codePoints().forEach(cp -> {
                String c = Character.toString(cp);
                Integer id = lookup.get(c);
                if (id != null) {
                    tokens.add(id);
                } else {
                    for (byte x : c.getBytes(StandardCharsets.UTF_8)) {
                        tokens.add((x & 0xff) + 3);
                    }
                }
            });
            while (true) {
                float best = -1e10f;
                int bestId = -1, bestIdx = -1;
                for (int i = 0; i + 1 < tokens.size(); i++) {
                    Integer id = lookup.get(vocab.get(tokens.get(i)) + vocab.get(tokens.get(i + 1)));
                    if (id != null && scores.get(id) > best) {
                        best = scores.get(id);
                        bestId = id;
                        bestIdx = i;
                    }
                }
                if (bestIdx < 0) {
                    break;
                }
                tokens.set(bestIdx, bestId);
                tokens.remove(bestIdx + 1);
            }
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @Test
    void matchesANaiveRunCEncoderLineByLine() throws IOException {
        String[] lines = Wiki.text().split("\n", -1);
        for (String file : List.of(Wiki.TOK512, Wiki.LLAMA_BIN)) {
            RunCReference reference = new RunCReference(Wiki.data(file));
            Tokenizer t = Wiki.load(file);
            int checked = 0;
            for (int i = 0; i < lines.length && checked < 150; i += 7) {
                if (lines[i].length() > 600) {
                    continue; // the quadratic reference is slow on long lines
                }
                int line = i;
                assertArrayEquals(reference.encode(lines[i]), t.encode(lines[i]), () -> file + " line " + line);
                checked++;
            }
            for (String s : List.of("", " ", "  x ", "Hello world", "emoji 😀 ok", "中文", "\t\n", "<0x41>", "\n<s>\n")) {
                assertArrayEquals(reference.encode(s), t.encode(s), () -> file + " '" + s + "'");
            }
        }
    }

    @Test
    void llama2ExportAgreesWithTokenizerModelOnWikiText() {
        String text = Wiki.text();
        Tokenizer bin = Wiki.load(Wiki.LLAMA_BIN);
        int[] ids = Wiki.timedEncode("Llama 2 (llama2.c tokenizer.bin)", bin, text);
        assertEquals(text, bin.decode(ids));
        // Both are SentencePiece BPE by score over the same pieces, so the ids agree.
        assertArrayEquals(Wiki.load(Wiki.LLAMA_MODEL).encode(text), ids);
        assertEquals(32000, bin.vocabSize());
        assertArrayEquals(new int[] {15043, 3186}, bin.encode("Hello world")); // llama.cpp test-tokenizer-0-llama
    }

    @Test
    void tok512RoundTripsWikiText() {
        String text = Wiki.text();
        Tokenizer t = Wiki.load(Wiki.TOK512);
        int[] ids = Wiki.timedEncode("aidreams260K (tok512.bin)", t, text);
        assertEquals(text, t.decode(ids));
        assertEquals(512, t.vocabSize());
        assertTrue(Arrays.stream(ids).allMatch(id -> id >= 3 && id < 512));
    }

    @Test
    void byteFallbackIsThreePlusTheByte() {
        Tokenizer t = Wiki.load(Wiki.TOK512);
        String text = "€"; // not in the 512-token vocabulary
        int[] ids = t.encode(text);
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        assertEquals(" ", t.piece(ids[0])); // the dummy prefix
        assertEquals(utf8.length + 1, ids.length);
        for (int i = 0; i < utf8.length; i++) {
            assertEquals((utf8[i] & 0xff) + 3, ids[i + 1]);
        }
        assertEquals(text, t.decode(ids));
    }

    @Test
    void decodeFollowsRunC() {
        Tokenizer t = Wiki.load(Wiki.LLAMA_BIN);
        assertEquals(" Hello", t.piece(15043)); // the export stores "▁" as a space
        // After BOS (and at the start of a sequence) the leading space is dropped, elsewhere kept.
        assertEquals("Hello world", t.decode(new int[] {1, 15043, 3186}));
        assertEquals("Hello world", t.decode(new int[] {15043, 3186}));
        assertEquals("Hello Hello", t.decode(new int[] {15043, 2, 15043})); // not after EOS
        assertEquals("HelloHello", t.decode(new int[] {15043, 1, 15043}));
        assertEquals("\n", t.decode(new int[] {13})); // <0x0A> is the raw byte
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());
        assertTrue(t.addBos());
    }
}

package io.nashswarm.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** Streaming decode: tokens one at a time, never splitting a character, same text as decode(). */
class StreamDecoderTest {
    private static final List<String> TEXTS = List.of(
            "emoji 😀 and 👍🏽 and 🦙 end",
            "中文分词测试，还有标点。",
            "Привет, мир! café",
            "👨‍👩‍👧‍👦 family, 🇫🇷 flag",
            "plain ascii text");

    private static List<String> pushAll(Tokenizer t, int[] ids) {
        Tokenizer.StreamDecoder d = t.streamDecoder();
        List<String> parts = new ArrayList<>();
        for (int id : ids) {
            parts.add(d.push(id));
        }
        parts.add(d.flush());
        return parts;
    }

    @Test
    void streamingEqualsDecodeAndNeverSplitsACharacter() {
        for (String file : List.of(Wiki.GPT2_DIR, Wiki.LLAMA_MODEL, Wiki.LLAMA_BIN, Wiki.TOK512)) {
            Tokenizer t = Wiki.load(file);
            for (String text : TEXTS) {
                int[] ids = t.encode(text);
                List<String> parts = pushAll(t, ids);
                String joined = String.join("", parts);
                assertEquals(t.decode(ids), joined, file + ": " + text);
                assertEquals(text, joined, file + ": " + text);
                for (String part : parts) {
                    assertFalse(part.contains("\uFFFD"), file + ": a push returned a broken character for " + text);
                    assertFalse(!part.isEmpty() && Character.isLowSurrogate(part.charAt(0)), file + ": split surrogate pair");
                    assertFalse(!part.isEmpty() && Character.isHighSurrogate(part.charAt(part.length() - 1)), file + ": split surrogate pair");
                }
            }
        }
    }

    @Test
    void bytesOfOneCharacterAreHeldBackUntilComplete() {
        Tokenizer t = Wiki.load(Wiki.LLAMA_MODEL);
        int[] ids = t.encode("😀"); // ▁, then four byte pieces <0xF0> <0x9F> <0x98> <0x80>
        assertEquals(5, ids.length);
        Tokenizer.StreamDecoder d = t.streamDecoder();
        assertEquals("", d.push(ids[0])); // the dummy-prefix space is dropped
        assertEquals("", d.push(ids[1]));
        assertEquals("", d.push(ids[2]));
        assertEquals("", d.push(ids[3]));
        assertEquals("😀", d.push(ids[4]));
        assertEquals("", d.flush());
    }

    @Test
    void truncatedCharactersBecomeReplacementCharactersOnFlush() {
        Tokenizer gpt2 = Wiki.load(Wiki.GPT2_DIR);
        int[] ids = "文分词测试".codePoints().mapToObj(Character::toString).map(gpt2::encode)
                .filter(x -> x.length >= 2).findFirst().orElseThrow(); // a character whose three bytes span tokens
        Tokenizer.StreamDecoder d = gpt2.streamDecoder();
        assertEquals("", d.push(ids[0]));
        assertEquals("\uFFFD", d.flush()); // one U+FFFD for the unfinished character (maximal subpart)
        assertEquals("\uFFFD", gpt2.decode(new int[] {ids[0]}));

        Tokenizer llama = Wiki.load(Wiki.LLAMA_MODEL);
        // SentencePiece replaces each byte of an unfinished character: <0xE4> <0xB8> → two U+FFFD.
        assertEquals("\uFFFD\uFFFDa", llama.decode(new int[] {0xE4 + 3, 0xB8 + 3, 29874}));
    }

    @Test
    void leadingSpaceRulesPerLibrary() {
        Tokenizer model = Wiki.load(Wiki.LLAMA_MODEL);
        Tokenizer.StreamDecoder sp = model.streamDecoder();
        assertEquals("", sp.push(1));           // <s>
        assertEquals("Once", sp.push(9038));    // "▁Once": the first visible piece loses its space
        assertEquals(" upon", sp.push(2501));   // "▁upon"

        Tokenizer bin = Wiki.load(Wiki.LLAMA_BIN);
        Tokenizer.StreamDecoder c = bin.streamDecoder();
        assertEquals("Once", c.push(9038));      // a fresh stream is at the start of a sequence
        assertEquals(" upon", c.push(2501));
        assertEquals("", c.push(1));             // BOS
        assertEquals("Once", c.push(9038));      // run.c strips the space right after BOS
    }
}

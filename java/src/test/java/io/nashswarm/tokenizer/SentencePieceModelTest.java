package io.nashswarm.tokenizer;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Llama 2 SentencePiece tokenizer.model. */
class SentencePieceModelTest {
    private static Tokenizer llama() {
        return Wiki.load(Wiki.LLAMA_MODEL);
    }

    private static void assertIds(String text, int... expected) {
        int[] ids = llama().encode(text);
        assertArrayEquals(expected, ids, () -> "ids of '" + text.replace("\n", "\\n") + "'");
        assertEquals(text, llama().decode(ids), "decode");
    }

    @Test
    void publishedIds() {
        // llama.cpp tests/test-tokenizer-0-llama.cpp (generated with the sentencepiece library for this vocabulary).
        assertIds("");
        assertIds(" ", 259);
        assertIds("  ", 1678);
        assertIds("   ", 268);
        assertIds("\t", 29871, 12);
        assertIds("\n", 29871, 13);
        assertIds("\t\n", 29871, 12, 13);
        assertIds("Hello world", 15043, 3186);
        assertIds(" Hello world", 29871, 15043, 3186);
        assertIds("Hello World", 15043, 2787);
        assertIds(" Hello World!", 29871, 15043, 2787, 29991);
        assertIds("Hello, world!", 15043, 29892, 3186, 29991);
        assertIds(" this is 🦙.cpp", 29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223);
        assertIds("w048 7tuijk dsdfhu", 281, 29900, 29946, 29947, 29871, 29955, 9161, 13535, 18031, 2176, 6905);
        assertIds("нещо на Български", 1538, 4851, 665, 1386, 29713, 1305);
        assertIds("កាន់តែពិសេសអាចខលចេញ", 29871, 31849, 31324, 31934, 228, 162, 142, 228, 161, 146, 228, 162, 133,
                228, 161, 153, 228, 161, 186, 31708, 228, 162, 132, 31708, 228, 161, 165, 31324, 228, 161, 136, 228,
                161, 132, 228, 161, 158, 228, 161, 136, 228, 162, 132, 228, 161, 140);
        assertIds("    Hello\n    Hello", 268, 15043, 13, 1678, 15043);
        assertIds(" (", 29871, 313);
    }

    @Test
    void idsFromSentencePiece() {
        // Computed with Google's sentencepiece 0.2.2 (SentencePieceProcessor.encode) on this tokenizer.model.
        assertIds("Hello world ", 15043, 3186, 29871);
        assertIds("Hello   world", 15043, 259, 3186);
        assertIds("  leading and trailing  ", 259, 8236, 322, 25053, 259);
        assertIds("line one\nline two\n\n", 1196, 697, 13, 1220, 1023, 13, 13);
        assertIds("a\r\nb", 263, 30004, 13, 29890);
        assertIds("12345 67.89 2024", 29871, 29896, 29906, 29941, 29946, 29945, 29871, 29953, 29955, 29889, 29947,
                29929, 29871, 29906, 29900, 29906, 29946); // Llama splits digits
        assertIds("I'm sure they'll say we've done what you'd",
                306, 29915, 29885, 1854, 896, 29915, 645, 1827, 591, 29915, 345, 2309, 825, 366, 29915, 29881);
        assertIds("café résumé naïve é", 274, 28059, 6896, 398, 29948, 1055, 30085, 345, 904);
        assertIds("中文分词测试", 29871, 30275, 30333, 30748, 235, 178, 144, 31851, 31787);
        assertIds("Привет, мир!", 7203, 7616, 29892, 4157, 29927, 29991);
        assertIds("emoji 😀 and 👍🏽 and 🦙", 953, 29877, 2397, 29871, 243, 162, 155, 131, 322, 29871, 243, 162, 148,
                144, 243, 162, 146, 192, 322, 29871, 243, 162, 169, 156);
        // Control pieces are not recognised in text by SentencePiece.
        assertIds("<|endoftext|>", 529, 29989, 355, 974, 726, 29989, 29958);
        assertIds(" = Valkyria Chronicles III = \n", 29871, 353, 478, 2235, 29891, 2849, 15336, 4027, 4786, 353, 29871, 13);
    }

    @Test
    void byteFallbackIdsAreThreePlusTheByte() {
        // Llama 2 keeps <unk>, <s>, </s> at 0..2 and the 256 byte pieces at 3..258.
        String text = "\u0d9e"; // a Sinhala letter the vocabulary lacks
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int[] ids = llama().encode(text);
        assertEquals(29871, ids[0]); // the dummy-prefix "▁"
        assertEquals(utf8.length, ids.length - 1);
        for (int i = 0; i < utf8.length; i++) {
            assertEquals((utf8[i] & 0xff) + 3, ids[i + 1]);
            assertEquals(String.format("<0x%02X>", utf8[i] & 0xff), llama().piece(ids[i + 1]));
        }
        assertEquals(text, llama().decode(ids));
    }

    @Test
    void specialsAndDecodingRules() {
        Tokenizer t = llama();
        assertEquals(32000, t.vocabSize());
        assertEquals(1, t.bos());
        assertEquals(2, t.eos());
        assertTrue(t.addBos());
        assertEquals("▁Hello", t.piece(15043));
        assertEquals("<s>", t.piece(1));
        // SentencePiece: control pieces are invisible; the first piece loses its dummy-prefix space,
        // also after a leading <s>; <unk> renders as " ⁇ ".
        assertEquals("Hello world", t.decode(new int[] {1, 15043, 3186, 2}));
        assertEquals("Hello world", t.decode(new int[] {15043, 3186}));
        assertEquals(" Hello", t.decode(new int[] {29871, 15043}));
        assertEquals("a ⁇ b", t.decode(new int[] {263, 0, 29890}));
        EngineException e = assertThrows(EngineException.class, () -> t.decode(new int[] {32000}));
        assertTrue(e.getMessage().contains("32000"), e.getMessage());
    }

    @Test
    void wholeWikiTextRoundTripsAndMatchesSentencePiece() {
        String text = Wiki.text();
        int[] ids = Wiki.timedEncode("Llama 2 (tokenizer.model)", llama(), text);
        assertEquals(text, llama().decode(ids));
        // sentencepiece 0.2.2's encode of the canonical wiki.test.raw: token count and id-sequence hash (Wiki.hash).
        assertEquals(335_687, ids.length);
        assertEquals(-716209732832396750L, Wiki.hash(ids));
    }
}

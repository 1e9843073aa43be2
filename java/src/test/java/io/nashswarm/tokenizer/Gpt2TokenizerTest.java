package io.nashswarm.tokenizer;

import io.nashswarm.EngineException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPT-2's byte-level BPE from OpenAI's encoder.json + vocab.bpe. */
class Gpt2TokenizerTest {
    private static Tokenizer gpt2() {
        return Wiki.load(Wiki.GPT2_DIR);
    }

    private static void assertIds(String text, int... expected) {
        int[] ids = gpt2().encode(text);
        assertArrayEquals(expected, ids, () -> "ids of '" + text + "'");
        assertEquals(text, gpt2().decode(ids), "decode");
    }

    @Test
    void publishedIds() {
        // tiktoken tests/test_encoding.py test_simple (OpenAI's reference implementation of this vocabulary).
        assertIds("hello world", 31373, 995);
        assertIds("hello <|endoftext|>", 31373, 220, 50256);
        // tiktoken tests/test_encoding.py test_simple_repeated.
        assertIds("0", 15);
        assertIds("00", 405);
        assertIds("000", 830);
        assertIds("0000", 2388);
        assertIds("00000", 20483);
        assertIds("000000", 10535);
        assertIds("0000000", 24598);
        assertIds("00000000", 8269);
        // The task brief's example (also the Hugging Face gpt2 tokenizer's output).
        assertIds("Hello world", 15496, 995);
    }

    @Test
    void idsFromTiktoken() {
        // Computed with OpenAI's tiktoken 0.14.0 from these encoder.json/vocab.bpe files
        // (data_gym_to_mergeable_bpe_ranks, GPT-2 pattern, <|endoftext|> allowed).
        assertIds(" Hello world", 18435, 995);
        assertIds("Hello world ", 15496, 995, 220);
        assertIds("Hello   world", 15496, 220, 220, 995);
        assertIds("  leading and trailing  ", 220, 3756, 290, 25462, 220, 220);
        assertIds("line one\nline two\n\n", 1370, 530, 198, 1370, 734, 628);
        assertIds("\ttab\tseparated\t", 197, 8658, 197, 25512, 515, 197);
        assertIds("a\r\nb", 64, 201, 198, 65);
        assertIds("12345 67.89 2024", 10163, 2231, 8275, 13, 4531, 48609);
        assertIds("Hello, world! (yes?) [no]; \"quoted\" -- done...",
                15496, 11, 995, 0, 357, 8505, 10091, 685, 3919, 11208, 366, 421, 5191, 1, 1377, 1760, 986);
        assertIds("I'm sure they'll say we've done what you'd", 40, 1101, 1654, 484, 1183, 910, 356, 1053, 1760, 644, 345, 1549);
        assertIds("DON'T SHOUT", 41173, 6, 51, 6006, 12425); // contractions are case-sensitive in GPT-2
        assertIds("café résumé naïve é", 66, 1878, 2634, 40560, 16345, 2634, 41492, 38251);
        assertIds("中文分词测试", 40792, 23877, 229, 26344, 228, 46237, 235, 38184, 233, 46237, 243);
        assertIds("Привет, мир!", 140, 253, 21169, 18849, 38857, 16843, 20375, 11, 12466, 120, 18849, 21169, 0);
        assertIds("emoji 😀 and 👍🏽 and 🦙", 368, 31370, 30325, 222, 290, 50169, 235, 8582, 237, 121, 290, 12520, 99, 247);
        assertIds("<|endoftext|>", 50256);
        assertIds("a<|endoftext|>b", 64, 50256, 65);
        assertIds(" = Valkyria Chronicles III = \n", 796, 569, 18354, 7496, 17740, 6711, 796, 220, 198);
    }

    @Test
    void specialsAndVocabulary() {
        Tokenizer t = gpt2();
        assertEquals(50257, t.vocabSize());
        assertEquals(50256, t.eos());
        assertEquals(50256, t.bos());
        assertFalse(t.addBos());
        assertEquals("<|endoftext|>", t.piece(50256));
        assertEquals("Ġworld", t.piece(995)); // the vocabulary spells bytes in GPT-2's printable alphabet
        assertEquals("<|endoftext|>", t.decode(new int[] {50256}));
        assertArrayEquals(new int[0], t.encode(""));
    }

    @Test
    void outOfRangeIdsAreClearErrors() {
        Tokenizer t = gpt2();
        EngineException e = assertThrows(EngineException.class, () -> t.decode(new int[] {15496, 50257}));
        assertTrue(e.getMessage().contains("50257") && e.getMessage().contains("50257 tokens"), e.getMessage());
        assertThrows(EngineException.class, () -> t.decode(new int[] {-1}));
        assertThrows(EngineException.class, () -> t.piece(60000));
        assertThrows(EngineException.class, () -> t.streamDecoder().push(50257));
    }

    @Test
    void wholeWikiTextRoundTripsAndMatchesTiktoken() {
        String text = Wiki.text();
        Tokenizer t = gpt2();
        int[] ids = Wiki.timedEncode("GPT-2 (encoder.json + vocab.bpe)", t, text);
        assertEquals(text, t.decode(ids));
        // tiktoken 0.14.0's encode_ordinary of the canonical wiki.test.raw (sha256 173c87a5…dd08): its
        // token count and the hash (Wiki.hash) of its id sequence.
        assertEquals(286_221, ids.length);
        assertEquals(8213830144328284715L, Wiki.hash(ids));
    }

    @Test
    void encodingIsDeterministicAcrossCacheStates() {
        Tokenizer fresh = Tokenizers.load(Wiki.data(Wiki.GPT2_DIR));
        String text = "The the THE theatre, the Theatre. " .repeat(3);
        int[] first = fresh.encode(text);
        assertArrayEquals(first, fresh.encode(text)); // second call served from the word cache
        assertArrayEquals(first, gpt2().encode(text));
    }
}

package io.nashswarm.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LLaMA-style Hugging Face tokenizer.json (SentencePiece converted to BPE with byte fallback),
 * written here from the Llama 2 pieces and scores the way Hugging Face's converter does it, in the
 * layout of the meta-llama/Llama-2 repositories.
 */
public class LlamaHfJsonTest {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    @TempDir
    Path dir;

    /** Llama 2's pieces and scores, read from the llama2.c export (which spells "▁" as a space). */
    public record Pieces(List<String> pieces, List<Float> scores) {
        public static Pieces read() throws IOException {
            return read(Wiki.data(Wiki.LLAMA_BIN));
        }

        /** Any llama2.c tokenizer.bin (the fuzzer builds a tokenizer.json from aidreams260K's tok512.bin). */
        public static Pieces read(Path tokenizerBin) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(tokenizerBin)).order(ByteOrder.LITTLE_ENDIAN);
            b.getInt();
            List<String> pieces = new ArrayList<>();
            List<Float> scores = new ArrayList<>();
            while (b.hasRemaining()) {
                scores.add(b.getFloat());
                byte[] s = new byte[b.getInt()];
                b.get(s);
                pieces.add(new String(s, StandardCharsets.UTF_8).replace(' ', '\u2581'));
            }
            pieces.set(0, "<unk>");
            pieces.set(1, "<s>"); // the export writes "\n<s>\n" and "\n</s>\n"
            pieces.set(2, "</s>");
            return new Pieces(pieces, scores);
        }

        /**
         * Merges as transformers' SentencePieceExtractor.extract(vocab_scores) derives them (the
         * converter behind the published Llama 2 tokenizer.json, 61,249 merges): every split of a
         * piece into two pieces, ordered by the merged piece's score, highest first (stable), and
         * within one piece by the ids of its halves.
         */
        List<String[]> hfMerges() {
            Map<String, Integer> vocab = new HashMap<>();
            for (int i = 0; i < pieces.size(); i++) {
                vocab.put(pieces.get(i), i);
            }
            record Merge(String left, String right, float score) {}
            List<Merge> merges = new ArrayList<>();
            for (int id = 0; id < pieces.size(); id++) {
                String p = pieces.get(id);
                List<Merge> local = new ArrayList<>();
                for (int k = 1; k < p.length(); k++) {
                    String l = p.substring(0, k), r = p.substring(k);
                    if (vocab.containsKey(l) && vocab.containsKey(r)) {
                        local.add(new Merge(l, r, scores.get(id)));
                    }
                }
                local.sort(Comparator.comparing((Merge m) -> vocab.get(m.left())).thenComparing(m -> vocab.get(m.right())));
                merges.addAll(local);
            }
            merges.sort(Comparator.comparing(Merge::score).reversed()); // List.sort is stable
            return merges.stream().map(m -> new String[] {m.left(), m.right()}).toList();
        }
    }

    /** meta-llama/Llama-2-7b-hf's tokenizer.json layout (legacy: Prepend + Replace normalizer). */
    public static ObjectNode llamaTokenizerJson(Pieces p, boolean metaspace) {
        ObjectNode root = F.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < 3; id++) {
            added.addObject().put("id", id).put("content", p.pieces().get(id)).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        if (metaspace) {
            root.putNull("normalizer");
            root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "\u2581")
                    .put("prepend_scheme", "first").put("split", false);
        } else {
            ObjectNode norm = root.putObject("normalizer").put("type", "Sequence");
            ArrayNode steps = norm.putArray("normalizers");
            steps.addObject().put("type", "Prepend").put("prepend", "\u2581");
            steps.addObject().put("type", "Replace").put("content", "\u2581").putObject("pattern").put("String", " ");
            root.putNull("pre_tokenizer");
        }
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        post.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        ((ArrayNode) post.get("single")).addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>").put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        decoders.addObject().put("type", "Replace").put("content", " ").putObject("pattern").put("String", "\u2581");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<unk>").putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true).put("byte_fallback", true);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < p.pieces().size(); id++) {
            vocab.put(p.pieces().get(id), id);
        }
        ArrayNode merges = model.putArray("merges");
        for (String[] m : p.hfMerges()) {
            merges.add(m[0] + " " + m[1]);
        }
        return root;
    }

    @Test
    void agreesWithTokenizerModelOnAllOfWikiText() throws IOException {
        Pieces pieces = Pieces.read();
        assertEquals(61_249, pieces.hfMerges().size()); // as in the published Llama 2 tokenizer.json
        Path file = dir.resolve("tokenizer.json");
        new ObjectMapper().writeValue(file.toFile(), llamaTokenizerJson(pieces, false));
        Tokenizer hf = Tokenizers.load(file);
        String text = Wiki.text();
        int[] ids = Wiki.timedEncode("Llama 2 (HF tokenizer.json)", hf, text);
        assertArrayEquals(Wiki.load(Wiki.LLAMA_MODEL).encode(text), ids);
        assertEquals(text, hf.decode(ids));
        assertEquals(32000, hf.vocabSize());
        assertEquals(1, hf.bos());
        assertEquals(2, hf.eos());
        assertTrue(hf.addBos());
        // Hugging Face recognises added special tokens in text (SentencePiece itself does not).
        // Computed with Hugging Face tokenizers 0.23.2 on this file:
        assertArrayEquals(new int[] {15043, 2, 3186}, hf.encode("Hello</s>world"));
        assertArrayEquals(new int[] {1, 15043}, hf.encode("<s>Hello"));
        assertArrayEquals(new int[] {29871, 15043}, hf.encode(" Hello"));
    }

    @Test
    void metaspaceLayout() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        new ObjectMapper().writeValue(file.toFile(), llamaTokenizerJson(Pieces.read(), true));
        Tokenizer hf = Tokenizers.load(file);
        // Computed with Hugging Face tokenizers 0.23.2 on this file. Metaspace (prepend_scheme "first")
        // adds no "▁" when the text already starts with a space, unlike SentencePiece.
        assertArrayEquals(new int[] {15043, 3186}, hf.encode("Hello world"));
        assertArrayEquals(new int[] {15043, 3186}, hf.encode(" Hello world"));
        assertArrayEquals(new int[] {29871, 1023, 8162}, hf.encode("  two spaces"));
        assertArrayEquals(new int[] {15043, 2, 11526}, hf.encode("Hello</s>world")); // no ▁ after a special token
        assertArrayEquals(new int[] {1, 10994}, hf.encode("<s>Hello"));
        assertArrayEquals(new int[] {353, 478, 2235, 29891, 2849, 15336, 4027, 4786, 353, 29871, 13},
                hf.encode(" = Valkyria Chronicles III = \n"));
        // Round trip holds for text that does not start with a space (a leading space is absorbed).
        String sample = Wiki.text().substring(0, 30_000).stripLeading();
        assertEquals(sample, hf.decode(hf.encode(sample)));
    }
}

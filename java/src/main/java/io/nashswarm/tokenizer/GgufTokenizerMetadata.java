package io.nashswarm.tokenizer;

import io.nashswarm.EngineException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer written out as GGUF tokenizer metadata ({@code tokenizer.ggml.*}, the keys llama.cpp
 * uses), from which {@link Tokenizers#fromGguf} rebuilds a tokenizer that gives the same ids. The GGUF
 * exporter writes these keys into a GGUF file; the packed model file keeps them in its JSON header.
 *
 * <ul>
 *   <li>Byte-level BPE (GPT-2 encoder.json/vocab.bpe, byte-level tokenizer.json): model "gpt2", the
 *       tokens, the merges in rank order, special tokens typed control, pre-tokenizer "gpt-2" or
 *       "llama-bpe".</li>
 *   <li>SentencePiece BPE (tokenizer.model; SentencePiece-style tokenizer.json): model "llama", pieces,
 *       piece types, and the scores (tokenizer.model) or the merges (tokenizer.json), with
 *       add_space_prefix and remove_extra_whitespaces.</li>
 *   <li>llama2.c tokenizer.bin: model "llama" with its scores; the types the file lacks are inferred
 *       (id 1 {@code <s>} and id 2 {@code </s>} control — the export spells them "\n&lt;s&gt;\n", stored as
 *       {@code <s>} — {@code <unk>} unknown, {@code <0xXX>} byte pieces, the rest normal) and its
 *       spaces are written as SentencePiece's "▁" again.</li>
 * </ul>
 * A setting GGUF has no key for (a custom pre-tokenizer regex, {@code ignore_merges}, a Metaspace
 * prepend scheme other than always/never, ...) is refused with a message, never silently changed.
 * One known difference is kept: a SentencePiece-style tokenizer.json recognises its added special
 * tokens when they are spelled in the input text ("&lt;s&gt;" becomes id 1); the rebuilt tokenizer, like
 * SentencePiece itself, reads such text as ordinary characters.
 *
 * <p>Values are plain Java as {@link Tokenizers#fromGguf} reads them: String, Integer, Boolean,
 * {@code List<String>}, {@code List<Float>}, {@code List<Integer>}.
 */
public final class GgufTokenizerMetadata {
    public static final String PREFIX = "tokenizer.ggml.";
    public static final String MODEL = PREFIX + "model", PRE = PREFIX + "pre", TOKENS = PREFIX + "tokens",
            TOKEN_TYPE = PREFIX + "token_type", SCORES = PREFIX + "scores", MERGES = PREFIX + "merges",
            BOS = PREFIX + "bos_token_id", EOS = PREFIX + "eos_token_id", ADD_BOS = PREFIX + "add_bos_token",
            ADD_SPACE_PREFIX = PREFIX + "add_space_prefix", REMOVE_EXTRA_WHITESPACES = PREFIX + "remove_extra_whitespaces";

    private static final String DEFAULT_UNK_SURFACE = " \u2047 ";
    /** llama2.c's run.c never merges into pieces scored at or below this. */
    private static final float LLAMA2C_SCORE_FLOOR = -1e10f;

    private GgufTokenizerMetadata() {}

    /**
     * The metadata of {@code t}, keys in llama.cpp's order.
     *
     * @throws EngineException when the tokenizer has a setting GGUF cannot express
     */
    public static Map<String, Object> of(Tokenizer t) {
        return switch (t) {
            case ByteLevelBpe b -> byteLevel(b);
            case SentencePieceBpe s -> sentencePiece(s);
            case Llama2cTokenizer l -> llama2c(l);
            default -> throw new EngineException("a " + t.getClass().getSimpleName() + " tokenizer cannot be written as GGUF metadata");
        };
    }

    /**
     * The same metadata with the token list padded to {@code vocabSize} with control tokens
     * {@code [PAD<id>]} (as llama.cpp's converter pads), for a model whose embedding has more rows than
     * the tokenizer has tokens: GGUF readers take the vocabulary size from the token list.
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> padded(Map<String, Object> meta, int vocabSize) {
        List<String> tokens = (List<String>) meta.get(TOKENS);
        if (tokens.size() > vocabSize) {
            throw new EngineException("the tokenizer has " + tokens.size() + " tokens but the model only " + vocabSize);
        }
        if (tokens.size() == vocabSize) {
            return meta;
        }
        Map<String, Object> out = new LinkedHashMap<>(meta);
        List<String> t = new ArrayList<>(tokens);
        List<Integer> types = new ArrayList<>((List<Integer>) meta.get(TOKEN_TYPE));
        List<Float> scores = meta.containsKey(SCORES) ? new ArrayList<>((List<Float>) meta.get(SCORES)) : null;
        for (int id = tokens.size(); id < vocabSize; id++) {
            t.add("[PAD" + id + "]");
            types.add(SentencePieceBpe.CONTROL);
            if (scores != null) {
                scores.add(0f);
            }
        }
        out.put(TOKENS, List.copyOf(t));
        out.put(TOKEN_TYPE, List.copyOf(types));
        if (scores != null) {
            out.put(SCORES, List.copyOf(scores));
        }
        return out;
    }

    private static Map<String, Object> byteLevel(ByteLevelBpe b) {
        ByteLevelBpe.Spec spec = b.spec();
        String pre;
        if (spec.pattern().equals(ByteLevelBpe.GPT2_PATTERN)) {
            pre = "gpt-2";
        } else if (spec.pattern().equals(ByteLevelBpe.LLAMA3_PATTERN)) {
            pre = "llama-bpe";
        } else {
            throw notRepresentable(b, "its pre-tokenizer regex is neither GPT-2's nor Llama 3's, the two GGUF names here");
        }
        if (spec.addPrefixSpace()) {
            throw notRepresentable(b, "add_prefix_space has no GGUF key");
        }
        if (spec.ignoreMerges()) {
            throw notRepresentable(b, "ignore_merges (whole words looked up before merging) has no GGUF key");
        }
        int n = b.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        List<Integer> types = new ArrayList<>(n);
        for (int id = 0; id < n; id++) {
            tokens.add(b.piece(id));
            types.add(SentencePieceBpe.NORMAL);
        }
        spec.specials().values().forEach(id -> types.set(id, SentencePieceBpe.CONTROL));
        List<String> merges = new ArrayList<>(spec.merges().size());
        for (String[] m : spec.merges()) {
            if (m[0].contains(" ") || m[1].contains(" ")) {
                throw notRepresentable(b, "merge '" + m[0] + "' + '" + m[1] + "' has a space inside a token, which GGUF's space-separated merges cannot hold");
            }
            merges.add(m[0] + " " + m[1]);
        }
        // The GGUF reader falls back to <|endoftext|> when an id is absent: absent is only faithful without one.
        boolean hasEot = tokens.contains(GptBpeFiles.END_OF_TEXT);
        if ((b.bos() < 0 || b.eos() < 0) && hasEot) {
            throw notRepresentable(b, "it has no BOS/EOS id but has " + GptBpeFiles.END_OF_TEXT + ", which a GGUF reader would take for them");
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put(MODEL, "gpt2");
        meta.put(PRE, pre);
        meta.put(TOKENS, List.copyOf(tokens));
        meta.put(TOKEN_TYPE, List.copyOf(types));
        meta.put(MERGES, List.copyOf(merges));
        putId(meta, BOS, b.bos());
        putId(meta, EOS, b.eos());
        meta.put(ADD_BOS, b.addBos());
        return meta;
    }

    private static Map<String, Object> sentencePiece(SentencePieceBpe s) {
        SentencePieceBpe.Options o = s.options();
        boolean addSpacePrefix = switch (o.prefix()) {
            case ALWAYS -> true;
            case NEVER -> false;
            case UNLESS_SPACE, FIRST_UNLESS_SPACE -> throw notRepresentable(s,
                    "its Metaspace prepend scheme (a '▁' added unless the text starts with a space) has no GGUF key");
        };
        if (!o.escapeWhitespaces()) {
            throw notRepresentable(s, "it keeps spaces unescaped (escape_whitespaces off)");
        }
        if (o.splitOnSpace()) {
            throw notRepresentable(s, "its Metaspace pre-tokenizer splits words at spaces, which GGUF's llama tokenizer does not");
        }
        if (!o.unkSurface().equals(DEFAULT_UNK_SURFACE)) {
            throw notRepresentable(s, "its unknown-piece surface '" + o.unkSurface() + "' differs from the default");
        }
        if (o.bos() < 0 || o.eos() < 0) {
            throw notRepresentable(s, "it has no BOS or EOS piece, which GGUF's llama tokenizer always has");
        }
        int n = s.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        List<Integer> types = new ArrayList<>(n);
        boolean[] bytes = new boolean[256];
        for (int id = 0; id < n; id++) {
            tokens.add(s.piece(id));
            types.add(s.type(id));
            int b = s.type(id) == SentencePieceBpe.BYTE ? SentencePieceBpe.bytePieceValue(s.piece(id)) : -1;
            if (b >= 0) {
                bytes[b] = true;
            }
        }
        boolean allBytes = true;
        for (boolean b : bytes) {
            allBytes &= b;
        }
        // The GGUF reader falls back to bytes exactly when all 256 byte pieces are there.
        if (s.usesByteFallback() != allBytes) {
            throw notRepresentable(s, "it has all 256 byte pieces but byte_fallback is off");
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put(MODEL, "llama");
        meta.put(PRE, "default");
        meta.put(TOKENS, List.copyOf(tokens));
        float[] scores = s.scores();
        if (scores != null) {
            meta.put(SCORES, scoreList(s, scores));
        }
        meta.put(TOKEN_TYPE, List.copyOf(types));
        if (scores == null) {
            List<String> merges = new ArrayList<>();
            for (String[] m : s.mergeList()) {
                if (m[0].contains(" ")) {
                    throw notRepresentable(s, "merge '" + m[0] + "' + '" + m[1] + "' has a space inside its first token");
                }
                merges.add(m[0] + " " + m[1]);
            }
            meta.put(MERGES, List.copyOf(merges));
        }
        meta.put(BOS, o.bos());
        meta.put(EOS, o.eos());
        meta.put(ADD_BOS, o.addBos());
        meta.put(ADD_SPACE_PREFIX, addSpacePrefix);
        meta.put(REMOVE_EXTRA_WHITESPACES, o.removeExtraWhitespaces());
        return meta;
    }

    private static Map<String, Object> llama2c(Llama2cTokenizer l) {
        int n = l.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        List<Integer> types = new ArrayList<>(n);
        float[] scores = new float[n];
        for (int id = 0; id < n; id++) {
            String p = l.piece(id);
            scores[id] = l.score(id);
            int type;
            if (id == Llama2cTokenizer.BOS || id == Llama2cTokenizer.EOS) {
                type = SentencePieceBpe.CONTROL;
                p = p.strip(); // the llama2.c export writes "\n<s>\n" and "\n</s>\n"
            } else if (p.equals("<unk>")) {
                type = SentencePieceBpe.UNKNOWN;
            } else if (SentencePieceBpe.bytePieceValue(p) >= 0) {
                type = SentencePieceBpe.BYTE;
            } else {
                if (p.indexOf(SentencePieceBpe.SPACE) >= 0) {
                    throw notRepresentable(l, "piece " + id + " ('" + p + "') holds a literal '▁', which would read as a space");
                }
                if (!(scores[id] > LLAMA2C_SCORE_FLOOR) && p.codePointCount(0, p.length()) > 1) {
                    throw notRepresentable(l, "piece " + id + " has score " + scores[id] + ", which llama2.c never merges into");
                }
                type = SentencePieceBpe.NORMAL;
                p = p.replace(' ', SentencePieceBpe.SPACE); // the export wrote SentencePiece's "▁" as a space
            }
            tokens.add(p);
            types.add(type);
        }
        // run.c falls back to id byte + 3; the rebuilt tokenizer to the <0xXX> pieces: they must be the same ids.
        for (int b = 0; b < 256 && b + 3 < n; b++) {
            if (SentencePieceBpe.bytePieceValue(l.piece(b + 3)) != b) {
                throw notRepresentable(l, String.format("id %d is not the byte piece <0x%02X> that run.c's byte fallback assumes", b + 3, b));
            }
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put(MODEL, "llama");
        meta.put(PRE, "default");
        meta.put(TOKENS, List.copyOf(tokens));
        meta.put(SCORES, scoreList(l, scores));
        meta.put(TOKEN_TYPE, List.copyOf(types));
        meta.put(BOS, Llama2cTokenizer.BOS);
        meta.put(EOS, Llama2cTokenizer.EOS);
        meta.put(ADD_BOS, true);
        meta.put(ADD_SPACE_PREFIX, true);
        meta.put(REMOVE_EXTRA_WHITESPACES, false);
        return meta;
    }

    private static List<Float> scoreList(Tokenizer t, float[] scores) {
        List<Float> out = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            if (!Float.isFinite(scores[i])) {
                throw notRepresentable(t, "piece " + i + " has score " + scores[i]);
            }
            out.add(scores[i]);
        }
        return List.copyOf(out);
    }

    private static void putId(Map<String, Object> meta, String key, int id) {
        if (id >= 0) {
            meta.put(key, id);
        }
    }

    private static EngineException notRepresentable(Tokenizer t, String why) {
        return new EngineException("this " + kind(t) + " tokenizer cannot be stored as GGUF tokenizer metadata: " + why);
    }

    private static String kind(Tokenizer t) {
        return switch (t) {
            case ByteLevelBpe b -> "byte-level BPE";
            case SentencePieceBpe s -> "SentencePiece";
            case Llama2cTokenizer l -> "llama2.c";
            default -> t.getClass().getSimpleName();
        };
    }
}

package io.nashswarm.tokenizer;

import io.nashswarm.EngineException;
import io.nashswarm.format.FormatException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Byte-level BPE (GPT-2, and Llama 3-style tokenizer.json / GGUF "gpt2" vocabularies): the text is
 * cut into words by a regular expression, each word's UTF-8 bytes start as one token each (spelled
 * in GPT-2's printable byte alphabet), and merges apply lowest rank first. Added special tokens
 * such as {@code <|endoftext|>} are recognised in the text first, as Hugging Face does, and decode
 * back to their text. Words are cached, so common words are merged once.
 */
final class ByteLevelBpe implements Tokenizer {
    /** GPT-2's pre-tokenizer (OpenAI encoder.py; Hugging Face ByteLevel with use_regex). */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama 3's pre-tokenizer (its tokenizer.json Split pattern; llama.cpp's "llama-bpe"). */
    static final String LLAMA3_PATTERN =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Everything needed to build one, as the file formats describe it. */
    record Spec(Path source, Map<String, Integer> vocab, List<String[]> merges, Map<String, Integer> specials,
                String pattern, boolean addPrefixSpace, boolean ignoreMerges, int bos, int eos, boolean addBos) {}

    private final String[] tokens;
    private final byte[][] tokenBytes;
    private final int[] byteToken;
    private final Map<String, Integer> vocab;
    private final MergeTable merges;
    private final Pattern pretokenizer;
    private final SpecialTokens specials;
    private final boolean addPrefixSpace;
    private final boolean ignoreMerges;
    private final int bos, eos;
    private final boolean addBos;
    private final WordCache cache = new WordCache();
    private final Spec spec;

    ByteLevelBpe(Spec spec) {
        this.spec = spec;
        Path source = spec.source();
        this.vocab = spec.vocab();
        this.specials = new SpecialTokens(spec.specials());
        int size = JsonFiles.idSpace(source, List.of(vocab, spec.specials()));
        tokens = new String[size];
        tokenBytes = new byte[size][];
        vocab.forEach((text, id) -> {
            if (id < 0) {
                throw new FormatException(source, "token '" + text + "' has negative id " + id);
            }
            if (tokens[id] != null) {
                throw new FormatException(source, "id " + id + " is given to both '" + tokens[id] + "' and '" + text + "'");
            }
            tokens[id] = text;
            tokenBytes[id] = ByteAlphabet.toBytes(text);
        });
        spec.specials().forEach((text, id) -> {
            if (tokens[id] == null) {
                tokens[id] = text;
            }
            tokenBytes[id] = text.getBytes(StandardCharsets.UTF_8); // added tokens are plain text
        });
        for (int id = 0; id < size; id++) {
            if (tokens[id] == null) {
                throw new FormatException(source, "the vocabulary has no token with id " + id
                        + " (ids must run from 0 to " + (size - 1) + " without gaps)");
            }
        }
        byteToken = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteAlphabet.charOf(b)));
            if (id == null) {
                throw new FormatException(source, String.format(
                        "the vocabulary lacks the byte token '%c' for byte 0x%02X, so it is not a byte-level BPE vocabulary",
                        ByteAlphabet.charOf(b), b));
            }
            byteToken[b] = id;
        }
        merges = new MergeTable(spec.merges().size());
        for (int rank = 0; rank < spec.merges().size(); rank++) {
            String[] m = spec.merges().get(rank);
            int left = MergeTable.tokenOf(source, vocab, m, m[0], rank);
            int right = MergeTable.tokenOf(source, vocab, m, m[1], rank);
            int merged = MergeTable.tokenOf(source, vocab, m, m[0] + m[1], rank);
            merges.putIfAbsent(left, right, merged, rank);
        }
        try {
            pretokenizer = Pattern.compile(spec.pattern(), Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new FormatException(source, "pre-tokenizer regex cannot be used: " + e.getDescription());
        }
        addPrefixSpace = spec.addPrefixSpace();
        ignoreMerges = spec.ignoreMerges();
        bos = spec.bos();
        eos = spec.eos();
        addBos = spec.addBos();
    }

    /** What it was built from (merges in rank order, specials, pattern), for writing it out again. */
    Spec spec() {
        return spec;
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public boolean addBos() {
        return addBos;
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return tokens[id];
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList(text.length() / 3 + 4);
        specials.split(text, new SpecialTokens.Visitor() {
            @Override
            public void text(String segment, int offset) {
                encodeOrdinary(segment, out);
            }

            @Override
            public void special(int id) {
                out.add(id);
            }
        });
        return out.toArray();
    }

    private void encodeOrdinary(String text, IntList out) {
        String s = addPrefixSpace && !text.startsWith(" ") ? " " + text : text;
        Matcher m = pretokenizer.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) {
                out.addAll(cache.get(s.substring(last, m.start()), this::encodeWord)); // text between matches is a word too
            }
            if (m.end() > m.start()) {
                out.addAll(cache.get(m.group(), this::encodeWord));
            }
            last = m.end();
        }
        if (last < s.length()) {
            out.addAll(cache.get(s.substring(last), this::encodeWord));
        }
    }

    private int[] encodeWord(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        if (ignoreMerges) {
            Integer whole = vocab.get(ByteAlphabet.toText(bytes));
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = byteToken[bytes[i] & 0xff];
        }
        int n = BpeMerger.merge(ids, ids.length, merges, null, null);
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    @Override
    public StreamDecoder streamDecoder() {
        return new StreamDecoder() {
            private final Utf8Buffer bytes = new Utf8Buffer(Utf8Buffer.Replacement.PER_SUBPART);

            @Override
            public String push(int id) {
                checkId(id);
                bytes.add(tokenBytes[id]);
                StringBuilder out = new StringBuilder();
                bytes.drain(out, false);
                return out.toString();
            }

            @Override
            public String flush() {
                StringBuilder out = new StringBuilder();
                bytes.drain(out, true);
                return out.toString();
            }
        };
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new EngineException("token id " + id + " is out of range: the vocabulary has "
                    + tokens.length + " tokens (ids 0.." + (tokens.length - 1) + ")");
        }
    }

    /**
     * GPT-2's byte ↔ printable-character table: printable Latin-1 bytes stand for themselves, the
     * other 68 bytes for U+0100 upwards, so that every token is printable text.
     */
    static final class ByteAlphabet {
        private static final char[] BYTE_TO_CHAR = new char[256];
        private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

        static {
            int next = 0;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + next++);
                CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
            }
        }

        private ByteAlphabet() {}

        static char charOf(int b) {
            return BYTE_TO_CHAR[b];
        }

        static String toText(byte[] bytes) {
            char[] chars = new char[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                chars[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
            }
            return new String(chars);
        }

        /** The bytes a token spells; characters outside the alphabet stand for their own UTF-8 (as in Hugging Face). */
        static byte[] toBytes(String token) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(token.length());
            for (int i = 0; i < token.length(); ) {
                int cp = token.codePointAt(i);
                Integer b = cp < 0x10000 ? CHAR_TO_BYTE.get((char) cp) : null;
                if (b != null) {
                    out.write(b);
                } else {
                    out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                }
                i += Character.charCount(cp);
            }
            return out.toByteArray();
        }
    }
}
